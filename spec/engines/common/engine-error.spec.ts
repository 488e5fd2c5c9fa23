import { expect } from 'chai';
import { EngineError, type EngineErrorCode } from '../../../lib/errors.js';
import { type EngineTerms, engineError, engineErrors } from '../../../lib/engines/common/engine-error.js';
import { CONTAINERD_TERMS } from '../../../lib/engines/containerd/containerd-errors.js';
import { CRI_TERMS } from '../../../lib/engines/cri/cri-errors.js';
import { DOCKER_TERMS } from '../../../lib/engines/docker/docker-errors.js';

const CODES: readonly EngineErrorCode[] = ['unreachable', 'permission', 'protocol', 'decode', 'unsupported', 'engine', 'closed', 'config'];
const ALL_TERMS: readonly EngineTerms[] = [DOCKER_TERMS, CONTAINERD_TERMS, CRI_TERMS];
const AT = 'unix:///run/x.sock';

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

describe('engineError (the one message builder)', () => {
  for (const terms of ALL_TERMS) {
    describe(`in ${terms.engine}'s words`, () => {
      for (const code of CODES) {
        it(`${code}: "<headline> while <what> (<said>): <advice>", naming the endpoint, with engine, code, endpoint and cause`, () => {
          const cause = new Error('underneath');
          const e = engineError(terms, AT, code, { what: 'listing containers', said: 'ECONNREFUSED', cause });
          expect(e).to.be.instanceOf(EngineError);
          expect(e).to.include({ engine: terms.engine, code, endpoint: AT, cause });
          expect(e.message).to.match(new RegExp(`^\\S.* ${escape(AT)}.* while listing containers \\(ECONNREFUSED\\): \\S.*$`));
          // one message, one line, never the raw "undefined"
          expect(e.message).not.to.match(/\n|undefined/);
        });
      }
      it('says what to do per code in the engine\'s own terms', () => {
        expect(engineError(terms, AT, 'unreachable', { what: 'w' }).message).to.equal(`${terms.nobody} at ${AT} while w: is it running? ${terms.setting}`);
        expect(engineError(terms, AT, 'protocol', { what: 'w' }).message).to.equal(`something at ${AT} answers, but not like ${terms.api} while w: check that the endpoint is ${terms.socket}`);
        expect(engineError(terms, AT, 'permission', { what: 'w' }).message).to.equal(`permission denied by ${AT} while w: ${terms.access}`);
        expect(engineError(terms, AT, 'unsupported', { what: 'w' }).message).to.equal(`${terms.name} at ${AT} does not implement a call whalewatcher needs while w: ${terms.upgrade}`);
      });
    });
  }

  it('leaves the parentheses out when nothing was said, and takes headline and advice overrides', () => {
    expect(engineError(DOCKER_TERMS, AT, 'engine', { what: 'w' }).message).to.equal(`the Docker engine at ${AT} failed while w: whalewatcher retries; see the engine's log if this persists`);
    expect(engineError(DOCKER_TERMS, AT, 'engine', { what: 'w', said: '', headline: 'H', advice: 'A' }).message).to.equal('H while w: A');
    expect(engineError(DOCKER_TERMS, AT, 'engine', { what: 'w' })).not.to.have.property('cause');
  });

  describe('engineErrors (the situations every adapter words alike)', () => {
    for (const terms of ALL_TERMS) {
      const errors = engineErrors(terms, AT);
      it(`${terms.engine}: timeouts, lost connections, ended streams and closed adapters`, () => {
        expect(errors.timedOut('w', 300)).to.include({ code: 'engine', endpoint: AT, message: `${terms.name} at ${AT} did not answer within 300 ms while w: is it overloaded or hung?` });
        expect(errors.timedOut('w', undefined).message).to.equal(`${terms.name} at ${AT} did not answer while w: is it overloaded or hung?`);
        const cause = new Error('reset');
        expect(errors.connectionLost('w', 'ECONNRESET', cause)).to.include({ code: 'engine', cause, message: `lost the connection to ${terms.name} at ${AT} while w (ECONNRESET): the engine stopped or restarted; whalewatcher reconnects` });
        expect(errors.streamEnded('w').message).to.equal(`${terms.name} at ${AT} ended the stream while w: stopped or restarted? whalewatcher reconnects`);
        expect(errors.closed('w')).to.include({ code: 'closed', engine: terms.engine });
        expect(errors.of('decode', 'w', 'garbage')).to.include({ code: 'decode', message: `${terms.name} at ${AT} sent data that could not be decoded while w (garbage): a bug, or a proxy in the way` });
      });
    }
  });
});
