// Writes docs/errors.md from the built error catalogue (run through `npm run docs:errors`).
const { writeFileSync } = require('node:fs');
const { renderErrorsDoc } = require('../dist/core/errors-doc');

writeFileSync('docs/errors.md', renderErrorsDoc());
