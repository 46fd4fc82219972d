// The three systems under test, described the same way so every measurement treats them alike:
// the upstream called directly, Hunze, and Portkey, each with its chat and embeddings URL and headers.
'use strict';

const JSON_HEADERS = { 'content-type': 'application/json' };

function directSystem(fakes) {
  return {
    name: 'direct',
    pid: fakes.pid, // the upstream's own process: what "direct" costs
    chatUrl: `${fakes.vllm}/chat/completions`,
    embeddingsUrl: `${fakes.tei}/embeddings`,
    chatHeaders: { ...JSON_HEADERS },
    embeddingHeaders: { ...JSON_HEADERS },
  };
}

function hunzeSystem(hunze) {
  const auth = { ...JSON_HEADERS, authorization: `Bearer ${hunze.key}` };
  return {
    name: 'hunze',
    pid: hunze.pid,
    chatUrl: `${hunze.url}/v1/chat/completions`,
    metricsUrl: `${hunze.url}/metrics`,
    embeddingsUrl: `${hunze.url}/v1/embeddings`,
    chatHeaders: auth,
    embeddingHeaders: auth,
  };
}

function portkeySystem(portkey) {
  return {
    name: 'portkey',
    pid: portkey.pid,
    chatUrl: `${portkey.url}/v1/chat/completions`,
    embeddingsUrl: `${portkey.url}/v1/embeddings`,
    chatHeaders: { ...JSON_HEADERS, ...portkey.chatHeaders },
    embeddingHeaders: { ...JSON_HEADERS, ...portkey.embeddingHeaders },
  };
}

/** Request bodies: a short chat turn (the common case), a stream, and an embeddings batch. */
function chatBody(model, { stream = false, promptBytes = 0 } = {}) {
  const content = promptBytes > 0 ? 'x'.repeat(promptBytes) : 'Say hello in one short sentence.';
  return JSON.stringify({
    model,
    messages: [{ role: 'user', content }],
    max_tokens: 64,
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}

function embeddingsBody(model, inputs) {
  const input = Array.from({ length: inputs }, (_, i) => `passage ${i}: the quick brown fox jumps`);
  return JSON.stringify({ model, input, encoding_format: 'base64' });
}

/** One request end to end; throws unless it is a 200 with the expected shape. */
async function checkSystem(system, model, embeddingModel) {
  const chat = await fetch(system.chatUrl, {
    method: 'POST',
    headers: system.chatHeaders,
    body: chatBody(model),
  });
  const answer = await chat.json();
  if (chat.status !== 200 || !answer.choices?.[0]?.message?.content)
    throw new Error(
      `${system.name}: chat check failed (${chat.status}) ${JSON.stringify(answer).slice(0, 300)}`,
    );
  const emb = await fetch(system.embeddingsUrl, {
    method: 'POST',
    headers: system.embeddingHeaders,
    body: embeddingsBody(embeddingModel, 2),
  });
  const embAnswer = await emb.json();
  if (emb.status !== 200 || embAnswer.data?.length !== 2)
    throw new Error(
      `${system.name}: embeddings check failed (${emb.status}) ${JSON.stringify(embAnswer).slice(0, 300)}`,
    );
}

module.exports = { directSystem, hunzeSystem, portkeySystem, chatBody, embeddingsBody, checkSystem };
