/**
 * The Docker probe's reading of a `/_ping` `Server` header (the values are
 * what the lab's Docker 20.10, Docker 26 and Podman 4.3 send); without one,
 * the probe asks `/version` (covered in discover-engines.spec.ts on the fakes,
 * which send no `Server` header).
 */
import { expect } from 'chai';
import { serverAnswer } from '../../lib/discovery/docker-probe.js';

describe('discovery: the Docker probe', () => {
  const cases: readonly [string | undefined, unknown][] = [
    ['Docker/20.10.24+dfsg1 (linux)', { version: '20.10.24+dfsg1', product: 'docker' }],
    ['Docker/26.1.5+dfsg1 (linux)', { version: '26.1.5+dfsg1', product: 'docker' }],
    ['Libpod/4.3.1 (linux)', { version: '4.3.1', product: 'podman' }],
    ['nginx/1.22.1', undefined],
    ['Docker', undefined],
    [undefined, undefined],
  ];
  for (const [server, answer] of cases) {
    it(`Server: ${server ?? '(none)'} → ${answer === undefined ? 'ask /version' : JSON.stringify(answer)}`, () => {
      expect(serverAnswer(server === undefined ? {} : { server })).to.deep.equal(answer);
    });
  }
});
