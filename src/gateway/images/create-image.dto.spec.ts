import fc from 'fast-check';
import { IMAGE_SIDE, IMAGE_SIZES, isImageSize } from './create-image.dto';

describe('image sizes', () => {
  it('takes auto and every documented size', () => {
    expect(isImageSize('auto')).toBe(true);
    for (const size of IMAGE_SIZES) expect(isImageSize(size)).toBe(true);
  });

  it('takes WIDTHxHEIGHT exactly when both sides are multiples of 16 from 256 to 2048', () => {
    const side = (n: number) => n >= IMAGE_SIDE.min && n <= IMAGE_SIDE.max && n % IMAGE_SIDE.step === 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 5000 }), (w, h) => {
        expect(isImageSize(`${w}x${h}`)).toBe(side(w) && side(h));
      }),
      { numRuns: 5_000 },
    );
  });

  it.each([
    '',
    'x',
    '1024',
    '1024x',
    'x1024',
    '1024X1024',
    ' 1024x1024',
    '1024x1024 ',
    '01024x1024',
    '1024.0x1024',
    '+1024x1024',
    'AUTO',
  ])('refuses %j', (size) => expect(isImageSize(size)).toBe(false));

  it('refuses what is not a string', () => {
    for (const value of [1024, null, undefined, ['1024x1024'], { width: 1024 }])
      expect(isImageSize(value)).toBe(false);
  });
});
