import fc from 'fast-check';
import { dataUri, findMediaUrls, type MediaApi } from './media-urls';

const REMOTE = 'https://media.example/x.png';
const DATA = 'data:image/png;base64,iVBORw0KGgo=';
const paths = (api: MediaApi, body: unknown) => findMediaUrls(api, body).map((r) => r.path);

describe('findMediaUrls on chat bodies', () => {
  it('finds every field that carries a media URL, and no data: URI', () => {
    const body = {
      messages: [
        { role: 'system', content: 'text only' },
        {
          role: 'user',
          content: [
            { type: 'text', text: REMOTE }, // a URL in text is text, not media
            { type: 'image_url', image_url: { url: REMOTE, detail: 'auto' } },
            { type: 'image_url', image_url: { url: DATA } },
            { type: 'audio_url', audio_url: { url: 'http://10.0.0.1/a.wav' } },
            { type: 'video_url', video_url: { url: 'file:///etc/passwd' } },
            { image_url: REMOTE }, // vLLM reads a part without a type by its keys
            { type: 'input_image', image_url: REMOTE },
            { type: 'file', file: { file_data: 'JVBERi0xLjQK', filename: 'a.pdf' } }, // bare base64
            { type: 'file', file: { file_data: ' https://x.example/a.pdf' } },
            { type: 'file', file: { file_id: 'file-abc' } },
            { type: 'input_file', file_url: REMOTE },
            { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
          ],
        },
      ],
    };
    const found = findMediaUrls('chat', body);
    expect(found.map((r) => [r.path, r.kind, r.reference])).toEqual([
      ['messages[1].content[1].image_url.url', 'image', 'url'],
      ['messages[1].content[3].audio_url.url', 'audio', 'url'],
      ['messages[1].content[4].video_url.url', 'video', 'url'],
      ['messages[1].content[5].image_url', 'image', 'url'],
      ['messages[1].content[6].image_url', 'image', 'url'],
      ['messages[1].content[8].file.file_data', 'image_or_audio', 'url'],
      ['messages[1].content[9].file.file_id', 'image_or_audio', 'file_id'],
      ['messages[1].content[10].file_url', 'image_or_audio', 'url'],
    ]);
  });

  it('replaces a URL with a data: URI in place, keeping the part shape', () => {
    const body = {
      messages: [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: REMOTE } }, { image_url: REMOTE }] },
      ],
    };
    const media = { contentType: 'image/png', bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47]) };
    for (const reference of findMediaUrls('chat', body)) reference.replace(media);
    expect(body.messages[0]!.content).toEqual([
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw==' } },
      { image_url: 'data:image/png;base64,iVBORw==' },
    ]);
    expect(findMediaUrls('chat', body)).toEqual([]);
  });
});

describe('findMediaUrls on Gemini bodies', () => {
  it('finds fileData.fileUri in contents and systemInstruction, and turns it into inlineData', () => {
    const body = {
      systemInstruction: { parts: [{ fileData: { mimeType: 'image/png', fileUri: REMOTE } }] },
      contents: [
        { role: 'user', parts: [{ text: 'hi' }, { fileData: { mimeType: 'image/png', fileUri: REMOTE } }] },
        { role: 'user', parts: [{ inlineData: { mimeType: 'image/png', data: 'iVBORw==' } }] },
      ],
    };
    const found = findMediaUrls('gemini', body);
    expect(found.map((r) => r.path)).toEqual([
      'systemInstruction.parts[0].fileData.fileUri',
      'contents[0].parts[1].fileData.fileUri',
    ]);
    found[1]!.replace({ contentType: 'image/png', bytes: Buffer.from('png') });
    expect(body.contents[0]!.parts[1]).toEqual({ inlineData: { mimeType: 'image/png', data: 'cG5n' } });
  });
});

// Random chat bodies with media parts at known places: the finder reports exactly those places.
const remoteUrl = fc.constantFrom(
  REMOTE,
  'http://10.1.2.3/a',
  'ftp://x/y',
  'file:///x',
  '//host/x',
  'x.png',
  '',
);
const mediaPart = fc.oneof(
  remoteUrl.map((url) => ({ part: { type: 'image_url', image_url: { url } }, at: '.image_url.url' })),
  remoteUrl.map((url) => ({ part: { type: 'audio_url', audio_url: { url } }, at: '.audio_url.url' })),
  remoteUrl.map((url) => ({ part: { type: 'video_url', video_url: { url } }, at: '.video_url.url' })),
  remoteUrl.map((url) => ({ part: { image_url: url }, at: '.image_url' })),
  fc.string().map((id) => ({ part: { type: 'file', file: { file_id: id } }, at: '.file.file_id' })),
);
const plainPart = fc.oneof(
  fc.string().map((text) => ({ type: 'text', text })),
  fc.constant({ type: 'image_url', image_url: { url: DATA } }),
  fc.constant({ type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }),
  fc.constant({ type: 'file', file: { file_data: 'JVBERi0xLjQK' } }),
);
const part = fc.oneof(
  mediaPart.map((m) => ({ part: m.part, at: m.at })),
  plainPart.map((p) => ({ part: p, at: null })),
);
const message = fc.oneof(
  fc.string().map((content) => ({ content: content, parts: [] as { at: string | null }[] })),
  fc.array(part, { maxLength: 6 }).map((parts) => ({ content: parts.map((p) => p.part), parts })),
);

describe('findMediaUrls properties', () => {
  it('finds every media URL part of a chat body, in order, and nothing else', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 8 }), (messages) => {
        const body = { model: 'm', messages: messages.map((m) => ({ role: 'user', content: m.content })) };
        const expected = messages.flatMap((m, i) =>
          m.parts.flatMap((p, j) => (p.at === null ? [] : [`messages[${i}].content[${j}]${p.at}`])),
        );
        expect(paths('chat', body)).toEqual(expected);
      }),
    );
  });

  it('never throws, whatever the shape', () => {
    fc.assert(
      fc.property(fc.constantFrom<MediaApi>('chat', 'gemini'), fc.anything(), (api, body) => {
        expect(Array.isArray(findMediaUrls(api, body))).toBe(true);
        expect(Array.isArray(findMediaUrls(api, { messages: body, contents: body }))).toBe(true);
        expect(
          Array.isArray(findMediaUrls(api, { messages: [{ content: body }], contents: [{ parts: body }] })),
        ).toBe(true);
      }),
    );
  });

  it('is linear: property reads stay within a constant factor of the body size', () => {
    // Every object and array of the body counts its reads through a Proxy; the finder must read each value
    // a bounded number of times, so its work grows with the body and never faster.
    let reads = 0;
    let nodes = 0;
    const counted = (value: unknown): unknown => {
      nodes++;
      if (typeof value !== 'object' || value === null) return value;
      const copy: unknown = Array.isArray(value)
        ? value.map(counted)
        : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, counted(v)]));
      return new Proxy(copy as object, {
        get: (target, key, receiver) => {
          reads++;
          return Reflect.get(target, key, receiver) as unknown;
        },
        has: (target, key) => {
          reads++;
          return Reflect.has(target, key);
        },
      });
    };
    fc.assert(
      fc.property(
        fc.constantFrom<MediaApi>('chat', 'gemini'),
        fc.array(message, { maxLength: 30 }),
        (api, ms) => {
          const body = {
            messages: ms.map((m) => ({ role: 'user', content: m.content })),
            contents: ms.map((m) => ({
              parts: Array.isArray(m.content) ? m.content : [{ text: m.content }],
            })),
          };
          reads = 0;
          nodes = 0;
          const proxied = counted(body);
          findMediaUrls(api, proxied);
          expect(reads).toBeLessThanOrEqual(10 * nodes + 10);
        },
      ),
    );
  });

  it('takes bare base64 as data, and finds a URL whatever its length', () => {
    const long = 'A'.repeat(5_000_000);
    const body = { messages: [{ role: 'user', content: [{ type: 'file', file: { file_data: long } }] }] };
    expect(findMediaUrls('chat', body)).toEqual([]);
    expect(paths('chat', { messages: [{ content: [{ image_url: `${long}:` }] }] })).toEqual([
      'messages[0].content[0].image_url',
    ]);
  });
});

describe('dataUri', () => {
  it('is the content type and the base64 bytes', () => {
    expect(dataUri({ contentType: 'audio/wav', bytes: Buffer.from('RIFF') })).toBe(
      'data:audio/wav;base64,UklGRg==',
    );
  });
});
