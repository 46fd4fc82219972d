import { ApiError } from './errors';
import { KnownQueryParams } from './known-query.pipe';

describe('KnownQueryParams', () => {
  const pipe = new KnownQueryParams('from', 'to');

  it('passes the accepted parameters on', () => {
    expect(pipe.transform({ from: 'a' })).toEqual({ from: 'a' });
    expect(pipe.transform(undefined)).toEqual({});
  });

  it.each([{ foo: '1' }, JSON.parse('{"__proto__":"1"}') as object, { from: 'a', constructor: 'x' }])(
    'refuses %j with unknown_parameter naming only the query',
    (query) => {
      const thrown = (() => {
        try {
          pipe.transform(query);
        } catch (err) {
          return err;
        }
      })();
      expect(thrown).toBeInstanceOf(ApiError);
      expect((thrown as ApiError).toBody().error).toEqual({
        message: 'Unknown query parameter: this endpoint accepts only from, to.',
        type: 'invalid_request_error',
        param: 'query',
        code: 'unknown_parameter',
      });
    },
  );
});
