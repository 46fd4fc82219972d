// Finds the media a request references by URL instead of carrying inline, on every API that accepts media:
// the one place that knows which fields carry media URLs. A remote URL left in a request would make the
// GPU host fetch it from wherever it points, so the gateway refuses it or fetches it itself
// (remote-media.service.ts). The scan is linear in the body: it visits each message and content part once
// and looks only at the first characters of a URL; a body without content-part arrays costs one loop over
// its messages.
//
// Chat completions (OpenAI and vLLM): any part of any message's `content` array, whatever its `type` (vLLM
// also reads a part without one, or with a `uuid`, by its keys):
//   image_url, audio_url, video_url   a string or { url }   (OpenAI image_url, vLLM audio/video)
//   file: { file_url, file_data, file_id }                  (OpenAI file parts)
//   file_url, file_data, file_id on the part itself         (Responses-style input_file / input_image)
// Gemini generateContent: `fileData.fileUri` in the parts of `contents` and `systemInstruction`.
// The Responses and Messages APIs, when added, call findMediaUrls with their own container walk; their part
// keys are the ones above (Messages: `source: { type: 'url', url }` / `{ type: 'file', file_id }`).

/** Which content types the fetched media may have: a video part needs video, anything else image or audio. */
export type MediaKind = 'image' | 'audio' | 'video' | 'image_or_audio';

export interface FetchedMedia {
  /** A checked content type: `type/subtype`, lower case, no parameters. */
  contentType: string;
  bytes: Buffer;
}

export interface MediaReference {
  /** The field path (messages[0].content[1].image_url.url): what errors name, never the URL. */
  path: string;
  kind: MediaKind;
  /** 'url': a remote URL; 'file_id': a reference to a stored file, which Hunze does not keep. */
  reference: 'url' | 'file_id';
  url: string;
  /** Puts the fetched media into the body in place of the URL (as a data: URI or inline data). */
  replace(media: FetchedMedia): void;
}

export type MediaApi = 'chat' | 'gemini';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const DATA_URI = /^data:/i;
/** A scheme (file_data may also be bare base64, which never contains ':'). */
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;
const URL_KEYS: readonly [key: string, kind: MediaKind][] = [
  ['image_url', 'image'],
  ['audio_url', 'audio'],
  ['video_url', 'video'],
];

const FILE_URL_KEYS = ['file_url', 'file_data'] as const;

export function dataUri(media: FetchedMedia): string {
  return `data:${media.contentType};base64,${media.bytes.toString('base64')}`;
}

/** Every media URL and file reference in a parsed request body of `api`, in body order; never throws. */
export function findMediaUrls(api: MediaApi, body: unknown): MediaReference[] {
  const found: MediaReference[] = [];
  if (!isObj(body)) return found;
  if (api === 'chat') {
    const messages: unknown = body.messages;
    if (!Array.isArray(messages)) return found;
    for (let i = 0; i < messages.length; i++) {
      const content: unknown = isObj(messages[i]) ? (messages[i] as Obj).content : undefined;
      if (!Array.isArray(content)) continue; // a string content: nothing to look at
      for (let j = 0; j < content.length; j++) {
        const part: unknown = content[j];
        // Text parts cost a few property reads; a path is built only for what is found.
        if (isObj(part) && mayCarryMedia(part))
          scanChatPart(part, (suffix) => `messages[${i}].content[${j}]${suffix}`, found);
      }
    }
    return found;
  }
  if (isObj(body.systemInstruction)) scanGeminiParts(body.systemInstruction, 'systemInstruction', found);
  if (Array.isArray(body.contents))
    body.contents.forEach((content: unknown, i) => {
      if (isObj(content)) scanGeminiParts(content, `contents[${i}]`, found);
    });
  return found;
}

function mayCarryMedia(part: Obj): boolean {
  return (
    part.image_url !== undefined ||
    part.audio_url !== undefined ||
    part.video_url !== undefined ||
    part.file !== undefined ||
    part.file_url !== undefined ||
    part.file_data !== undefined ||
    part.file_id !== undefined
  );
}

/** The field path of a part's field, from the part's own path and the field's (`.image_url.url`). */
type PathOf = (suffix: string) => string;

function scanChatPart(part: Obj, pathOf: PathOf, found: MediaReference[]): void {
  for (const [key, kind] of URL_KEYS) {
    const value = part[key];
    if (typeof value === 'string') {
      if (!DATA_URI.test(value)) found.push(urlAt(part, key, pathOf(`.${key}`), kind, value));
    } else if (isObj(value) && typeof value.url === 'string' && !DATA_URI.test(value.url)) {
      found.push(urlAt(value, 'url', pathOf(`.${key}.url`), kind, value.url));
    }
  }
  scanFileFields(part, '', pathOf, found);
  if (isObj(part.file)) scanFileFields(part.file, '.file', pathOf, found);
}

function scanFileFields(holder: Obj, at: string, pathOf: PathOf, found: MediaReference[]): void {
  for (const key of FILE_URL_KEYS) {
    const value = holder[key];
    if (typeof value !== 'string' || DATA_URI.test(value)) continue;
    if (key === 'file_url' || namesScheme(value))
      found.push(urlAt(holder, key, pathOf(`${at}.${key}`), 'image_or_audio', value));
  }
  const id = holder.file_id;
  if (typeof id === 'string')
    found.push({
      path: pathOf(`${at}.file_id`),
      kind: 'image_or_audio',
      reference: 'file_id',
      url: '',
      replace() {},
    });
}

/** As URL parsers read it: leading spaces and control characters are skipped before the scheme. */
function namesScheme(value: string): boolean {
  let start = 0;
  while (start < value.length && value.charCodeAt(start) <= 0x20) start++;
  return SCHEME.test(value.slice(start, start + 64)); // schemes are short; base64 never holds a ':'
}

function urlAt(holder: Obj, key: string, path: string, kind: MediaKind, url: string): MediaReference {
  return {
    path,
    kind,
    reference: 'url',
    url,
    replace: (media) => {
      holder[key] = dataUri(media);
    },
  };
}

/** Gemini: `fileData` becomes `inlineData` with the fetched type, which the translator then handles. */
function scanGeminiParts(content: Obj, path: string, found: MediaReference[]): void {
  if (!Array.isArray(content.parts)) return;
  content.parts.forEach((part: unknown, j) => {
    if (!isObj(part) || !isObj(part.fileData)) return;
    const uri = part.fileData.fileUri;
    if (typeof uri !== 'string' || DATA_URI.test(uri)) return; // left to the translator, which refuses it
    found.push({
      path: `${path}.parts[${j}].fileData.fileUri`,
      kind: 'image_or_audio',
      reference: 'url',
      url: uri,
      replace: (media) => {
        delete part.fileData;
        part.inlineData = { mimeType: media.contentType, data: media.bytes.toString('base64') };
      },
    });
  });
}
