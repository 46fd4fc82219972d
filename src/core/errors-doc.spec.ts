import { readFileSync } from 'node:fs';
import { renderErrorsDoc } from './errors-doc';

describe('docs/errors.md', () => {
  it('matches the error catalogue (run `npm run docs:errors` after changing it)', () => {
    expect(readFileSync('docs/errors.md', 'utf8')).toBe(renderErrorsDoc());
  });
});
