import { ApiError } from '../../core/errors';
import { readWhisperx, renderTranscript } from './whisperx-transcription.adapter';

const segments = [
  {
    start: 0.5,
    end: 1.25,
    text: ' Hoi --> daar',
    speaker: 'SPEAKER_01',
    words: [
      { word: 'Hoi', start: 0.5, end: 0.8, score: 0.9, speaker: 'SPEAKER_01' },
      { word: '2025', score: 0.1 }, // WhisperX cannot align numerals: no timings
    ],
  },
  { start: 3600.2, end: 3601, text: ' Tot ziens.' },
];

describe('readWhisperx', () => {
  it('flattens the nested shape of aligned and diarized results', () => {
    const nested = readWhisperx({
      segments: { segments, word_segments: [{ word: 'Hoi', start: 0.5, end: 0.8 }] },
      language: 'nl',
      text: 'Hoi daar\nTot ziens.',
    });
    expect(nested.segments).toEqual([
      { start: 0.5, end: 1.25, text: ' Hoi --> daar', speaker: 'SPEAKER_01' },
      { start: 3600.2, end: 3601, text: ' Tot ziens.' },
    ]);
    expect(nested.words).toEqual([{ word: 'Hoi', start: 0.5, end: 0.8 }]);
    expect(nested).toMatchObject({ language: 'nl', duration: 3601, durationReported: false });
  });

  it('takes words from the segments when there are no word_segments, and a reported duration', () => {
    const flat = readWhisperx({ segments, duration: 3700.5 });
    expect(flat.words).toEqual([{ word: 'Hoi', start: 0.5, end: 0.8, speaker: 'SPEAKER_01' }]);
    expect(flat).toMatchObject({ duration: 3700.5, durationReported: true, language: null });
    expect(flat.text).toBe('Hoi --> daar Tot ziens.');
  });

  it.each([
    ['no segments', { text: 'x' }],
    ['segments of the wrong type', { segments: 'x' }],
    ['a segment without timings', { segments: [{ text: 'x' }] }],
    ['a null segment', { segments: [null] }],
  ])('answers 502 upstream_error for %s', (_name, answer) => {
    expect(() => readWhisperx(answer as Record<string, unknown>)).toThrow(ApiError);
  });
});

describe('renderTranscript', () => {
  const transcript = readWhisperx({ segments, language: 'nl', text: 'Hoi daar\nTot ziens.' });
  const render = (format: Parameters<typeof renderTranscript>[1]['format']) =>
    renderTranscript(transcript, { format, granularities: new Set() });

  it('writes SRT and WebVTT cues with hours, speakers, and no cue arrow inside the text', () => {
    expect(render('srt').body).toBe(
      '1\n00:00:00,500 --> 00:00:01,250\n[SPEAKER_01]: Hoi -> daar\n\n' +
        '2\n01:00:00,200 --> 01:00:01,000\nTot ziens.\n\n',
    );
    expect(render('vtt')).toEqual({
      contentType: 'text/vtt; charset=utf-8',
      body:
        'WEBVTT\n\n00:00:00.500 --> 00:00:01.250\n[SPEAKER_01]: Hoi -> daar\n\n' +
        '01:00:00.200 --> 01:00:01.000\nTot ziens.\n\n',
    });
  });

  it('labels a diarized segment without a speaker UNKNOWN', () => {
    const body = JSON.parse(render('diarized_json').body) as { segments: { speaker: string; id: string }[] };
    expect(body.segments.map((s) => [s.id, s.speaker])).toEqual([
      ['seg_0', 'SPEAKER_01'],
      ['seg_1', 'UNKNOWN'],
    ]);
  });

  it('answers text as plain text and json as {text}', () => {
    expect(render('text')).toEqual({
      contentType: 'text/plain; charset=utf-8',
      body: 'Hoi daar\nTot ziens.',
    });
    expect(JSON.parse(render('json').body)).toEqual({ text: 'Hoi daar\nTot ziens.' });
  });
});
