import { isStorableText } from './storable-text';

describe('isStorableText', () => {
  it.each(['team a', 'Ünïcødé', 'emoji 😀', '中文', '\u00a0nbsp'])('accepts %j', (text) =>
    expect(isStorableText(text)).toBe(true),
  );

  it.each([
    'a\u0000b',
    'tab\there',
    'esc\u001b[2J',
    'del\u007f',
    'c1\u0085',
    'lone \ud800',
    '\udc00 low',
    'pair reversed \ude00\ud83d',
  ])('refuses %j', (text) => expect(isStorableText(text)).toBe(false));

  it('refuses what is not a string', () => expect(isStorableText(42)).toBe(false));
});
