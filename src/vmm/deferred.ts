// An action's reply that comes later: the control loop takes the next
// request at once and replies when the promise settles. For an action that
// waits on the outside world (vm.receive-migration waits for its sender),
// so the API stays answered meanwhile.
export class Deferred {
  constructor(readonly promise: Promise<unknown>) {}
}
