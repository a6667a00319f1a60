// What the harness outside L1 hands the Debian tests inside it (guest/distro.ts):
// on by default, off with TSVMM_TEST_DISTRO=0; a reason the image cannot be had
// makes them skip with it; a failed build makes them fail with its message
// instead of building the image again under emulation.
import t from 'tap';
import { buildDistroImage, DISTRO_ERROR_ENV, DISTRO_SKIP_ENV, DISTRO_TEST_ENV, distroTestSkip, distroTestWanted } from '../../guest/distro.js';

function withEnv(env: Record<string, string | undefined>, body: () => void): void {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  const set = (values: Record<string, string | undefined>): void => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  set(env);
  try {
    body();
  } finally {
    set(saved);
  }
}

t.test('the Debian tests run unless TSVMM_TEST_DISTRO=0', async (t) => {
  withEnv({ [DISTRO_TEST_ENV]: undefined }, () => t.ok(distroTestWanted()));
  withEnv({ [DISTRO_TEST_ENV]: '1' }, () => t.ok(distroTestWanted()));
  withEnv({ [DISTRO_TEST_ENV]: '0' }, () => {
    t.notOk(distroTestWanted());
    t.match(distroTestSkip(), /TSVMM_TEST_DISTRO=0/);
  });
});

t.test('a reason handed down is the skip reason', async (t) => {
  withEnv({ [DISTRO_TEST_ENV]: undefined, [DISTRO_SKIP_ENV]: 'no root here' }, () => t.equal(distroTestSkip(), 'no root here'));
});

t.test('a failed build handed down fails the image, naming why', async (t) => {
  withEnv({ [DISTRO_ERROR_ENV]: 'debootstrap: mirror unreachable' }, () => {
    t.throws(() => buildDistroImage(), /could not be built: debootstrap: mirror unreachable/);
  });
});
