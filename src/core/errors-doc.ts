// Renders docs/errors.md from the error catalogue, so the documentation cannot drift from the code.
import { ERRORS } from './errors';

export function renderErrorsDoc(): string {
  const rows = Object.entries(ERRORS).map(
    ([code, spec]) =>
      `| \`${code}\` | ${spec.status} | \`${spec.type}\` | ${spec.retry ? 'true' : 'false'} | ${spec.message} |`,
  );
  return `# Errors

Generated from \`src/core/errors.ts\` by \`npm run docs:errors\`; do not edit by hand.

Every error has OpenAI's shape, \`{"error": {"message", "type", "param", "code"}}\`, with \`code\` one of the
codes below and \`param\` the request field at fault (a field name, never its value). Messages are fixed
templates filled only with our own field names and numbers, so no error ever echoes request or upstream
content. \`x-should-retry\` steers the OpenAI SDKs' automatic retries; \`retry-after\` accompanies overload
errors. A stream that fails after it started ends with \`data: {"error": {...}}\` and then \`data: [DONE]\`.

| code | status | type | x-should-retry | message |
| --- | --- | --- | --- | --- |
${rows.join('\n')}
`;
}
