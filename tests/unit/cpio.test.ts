import t from 'tap';
import { buildCpio, S_IFCHR, S_IFREG } from '../../guest/cpio.js';

t.test('newc archive with a file, a device node and the trailer', async (t) => {
  const archive = buildCpio([
    { path: 'init', mode: S_IFREG | 0o755, data: new TextEncoder().encode('hello') },
    { path: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
  ]);
  const text = new TextDecoder('latin1').decode(archive);
  t.equal(text.slice(0, 6), '070701');
  t.equal(archive.length % 4, 0);
  const first = text.slice(0, 110);
  t.equal(parseInt(first.slice(14, 22), 16), 0o100755, 'mode');
  t.equal(parseInt(first.slice(54, 62), 16), 5, 'file size');
  t.equal(parseInt(first.slice(94, 102), 16), 5, 'name size includes NUL');
  t.equal(text.slice(110, 114), 'init');
  t.match(text, /hello/);
  const device = text.indexOf('070701', 110);
  t.equal(parseInt(text.slice(device + 78, device + 86), 16), 5, 'rdev major');
  t.equal(parseInt(text.slice(device + 86, device + 94), 16), 1, 'rdev minor');
  t.match(text, /TRAILER!!!/);
});
