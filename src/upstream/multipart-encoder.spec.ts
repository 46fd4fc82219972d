import { parseMultipart } from '../../test/fakes/fake-whisperx';
import { MultipartEncoder } from './multipart-encoder';

describe('MultipartEncoder', () => {
  it('writes a body a multipart parser reads back, file bytes untouched', () => {
    const encoder = new MultipartEncoder();
    const file = Buffer.from([0, 13, 10, 45, 45, 255, 13, 10]); // CRLF-- inside the bytes
    const body = Buffer.concat([
      encoder.field('language', 'nl'),
      encoder.fileStart('file', 'audio.wav', 'audio/wav'),
      file,
      encoder.fileEnd(),
      encoder.field('prompt', 'Grüße, "quoted"\r\nline'),
      encoder.close(),
    ]);
    const parts = parseMultipart(body, encoder.contentType);
    expect(parts).toEqual([
      { name: 'language', filename: null, contentType: null, data: Buffer.from('nl') },
      { name: 'file', filename: 'audio.wav', contentType: 'audio/wav', data: file },
      { name: 'prompt', filename: null, contentType: null, data: Buffer.from('Grüße, "quoted"\r\nline') },
    ]);
  });

  it('escapes quotes and line breaks in names', () => {
    const encoder = new MultipartEncoder();
    expect(encoder.field('a"b\r\nc', 'v').toString()).toContain('name="a%22b%0D%0Ac"');
    expect(new MultipartEncoder().boundary).not.toBe(encoder.boundary);
  });
});
