import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { ApiError } from '../../core/errors';
import { GenerateContentDto } from './generate-content.dto';
import { openApiToJsonSchema, toChatRequest } from './gemini-request.translator';

const dto = (body: object) => plainToInstance(GenerateContentDto, body);
const fail = (body: object): ApiError => {
  try {
    toChatRequest(dto(body), 'm', false);
  } catch (err) {
    return err as ApiError;
  }
  throw new Error('expected an error');
};

describe('toChatRequest', () => {
  it('maps turns, system instruction and sampling settings', () => {
    const body = dto({
      systemInstruction: { role: 'user', parts: [{ text: 'be ' }, { text: 'brief' }] },
      contents: [
        { parts: [{ text: 'hi' }] },
        { role: 'model', parts: [{ text: 'thinking…', thought: true }, { text: 'hello' }] },
        { role: 'user', parts: [{ text: 'look' }, { inlineData: { mimeType: 'image/jpeg', data: 'AAEC' } }] },
      ],
      generationConfig: {
        temperature: 0,
        topK: 5,
        maxOutputTokens: 9,
        stopSequences: ['x'],
        candidateCount: 2,
      },
    });
    expect(toChatRequest(body, 'm', false)).toEqual({
      model: 'm',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look' },
            { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,AAEC' } },
          ],
        },
      ],
      temperature: 0,
      top_k: 5,
      max_tokens: 9,
      stop: ['x'],
      n: 2,
    });
  });

  it('asks a stream for usage, and maps audio and JSON output', () => {
    const body = dto({
      contents: [{ parts: [{ inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } }] }],
      generationConfig: { responseMimeType: 'application/json' },
    });
    expect(toChatRequest(body, 'm', true)).toMatchObject({
      messages: [
        {
          role: 'user',
          content: [{ type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }],
        },
      ],
      response_format: { type: 'json_object' },
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('passes a JSON schema through and converts an OpenAPI-style schema', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    const body = dto({
      contents: [{ parts: [{ text: 'x' }] }],
      generationConfig: { responseJsonSchema: schema },
    });
    expect(toChatRequest(body, 'm', false).response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'response', schema },
    });
    expect(
      openApiToJsonSchema({
        type: 'ARRAY',
        items: { type: 'OBJECT', properties: { type: { type: 'STRING', enum: ['A'] } } },
      }),
    ).toEqual({
      type: 'array',
      items: { type: 'object', properties: { type: { type: 'string', enum: ['A'] } } },
    });
  });

  it.each([
    [{ contents: [{ parts: [{ functionCall: { name: 'f' } }] }] }, 'contents[0].parts[0]'],
    [
      { contents: [{ parts: [{ text: 'a', inlineData: { mimeType: 'image/png', data: 'AA' } }] }] },
      'contents[0].parts[0]',
    ],
    [
      { contents: [{ parts: [{ inlineData: { mimeType: 'video/mp4', data: 'AA' } }] }] },
      'contents[0].parts[0].inlineData.mimeType',
    ],
    [
      { contents: [{ parts: [{ inlineData: { mimeType: 'image/png', data: 'not base64!' } }] }] },
      'contents[0].parts[0].inlineData.data',
    ],
    [
      { contents: [{ role: 'model', parts: [{ inlineData: { mimeType: 'image/png', data: 'AA' } }] }] },
      'contents[0].parts[0]',
    ],
    [
      {
        contents: [{ parts: [{ text: 'x' }] }],
        systemInstruction: { parts: [{ inlineData: { mimeType: 'image/png', data: 'AA' } }] },
      },
      'systemInstruction[0]',
    ],
    [{ contents: [{ role: 'model', parts: [{ text: '' }] }] }, 'contents'],
    [{ contents: [{ parts: [{ text: 'x' }] }], tools: [{}] }, 'tools'],
    [{ contents: [{ parts: [{ text: 'x' }] }], toolConfig: {} }, 'toolConfig'],
    [{ contents: [{ parts: [{ text: 'x' }] }], cachedContent: 'cachedContents/1' }, 'cachedContent'],
  ])('refuses what it cannot translate, naming the field (%#)', (body, param) => {
    const error = fail(body);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe('invalid_request_error');
    expect(error.param).toBe(param);
  });

  it('never quotes content in its errors', () => {
    const error = fail({
      contents: [{ parts: [{ inlineData: { mimeType: 'image/png', data: 'canary-xyz!' } }] }],
    });
    expect(JSON.stringify(error.toBody())).not.toContain('canary');
  });
});
