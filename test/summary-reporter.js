// Closes the run with what CI needs to see at once: the failed tests with the first lines of each failure,
// then Jest's own totals as the one closing line CI reads: "N passed, N failed".
const { relative } = require('node:path');

const LINES_PER_FAILURE = 8;
const MAX_LISTED = 40;
const ansi = /\u001b\[[0-9;]*m/g;

function firstLines(text) {
  return text
    .replace(ansi, '')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '' && !/^\s*at .*node_modules/.test(line))
    .slice(0, LINES_PER_FAILURE)
    .map((line) => `      ${line}`)
    .join('\n');
}

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const failures = [];
    for (const file of results.testResults) {
      const where = `${file.displayName?.name ?? ''} ${relative(this.rootDir, file.testFilePath)}`.trim();
      if (file.testExecError)
        failures.push({
          name: `${where} (the file did not run)`,
          text: file.testExecError.message ?? String(file.testExecError),
        });
      for (const test of file.testResults) {
        if (test.status === 'failed')
          failures.push({ name: `${where} › ${test.fullName}`, text: test.failureMessages.join('\n') });
      }
    }
    if (failures.length > 0) {
      const lines = [`\nFailed (${failures.length}):`];
      for (const { name, text } of failures.slice(0, MAX_LISTED)) lines.push(`  ✕ ${name}`, firstLines(text));
      if (failures.length > MAX_LISTED) lines.push(`  ... and ${failures.length - MAX_LISTED} more`);
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    process.stdout.write(`\n${results.numPassedTests} passed, ${failed} failed\n`);
  }
}
module.exports = SummaryReporter;
