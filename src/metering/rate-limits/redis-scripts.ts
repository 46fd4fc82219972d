// Lua run atomically inside Redis, one round trip each. ADMIT mirrors admit() in limit-rules.ts operation
// for operation (IEEE doubles on both sides, times in ms stored to full precision), so both backends decide
// alike on the same state. Numbers go back as strings: Redis would truncate a Lua number to an integer.

/**
 * KEYS: per subject its request, token and month key. ARGV: now, window, then per subject rpm, tpm and
 * quota (0 = none). Counts the request (every subject's request time) only when every limit admits it.
 * Returns per subject the state before this request: request time, token time, month tokens.
 */
export const ADMIT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local out = {}
local admitted = true
local nextTat = {}
for i = 1, #KEYS / 3 do
  local rpm = tonumber(ARGV[3 * i])
  local tpm = tonumber(ARGV[3 * i + 1])
  local quota = tonumber(ARGV[3 * i + 2])
  local reqTat = tonumber(redis.call('GET', KEYS[3 * i - 2]) or '0')
  local tokTat = tonumber(redis.call('GET', KEYS[3 * i - 1]) or '0')
  local used = tonumber(redis.call('GET', KEYS[3 * i]) or '0')
  if quota > 0 and used >= quota then admitted = false end
  if tpm > 0 and tokTat - now >= window then admitted = false end
  if rpm > 0 then
    local interval = window / rpm
    local tat = math.max(reqTat, now) + interval
    if tat - now > window + interval / 2 then admitted = false end
    nextTat[i] = tat
  end
  out[3 * i - 2] = string.format('%.17g', reqTat)
  out[3 * i - 1] = string.format('%.17g', tokTat)
  out[3 * i] = string.format('%.0f', used)
end
if admitted then
  for i, tat in pairs(nextTat) do
    redis.call('SET', KEYS[3 * i - 2], string.format('%.17g', tat), 'PX', math.ceil(tat - now) + 1000)
  end
end
return out
`;

/**
 * KEYS: per subject its token and month key. ARGV: now, window, tokens, month expiry (unix seconds), then
 * per subject tpm (0 = none). Adds a finished request's tokens.
 */
export const CONSUME = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tokens = tonumber(ARGV[3])
for i = 1, #KEYS / 2 do
  local tpm = tonumber(ARGV[3 + i + 1])
  if tpm > 0 then
    local tat = math.max(tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0'), now) + tokens * window / tpm
    redis.call('SET', KEYS[2 * i - 1], string.format('%.17g', tat), 'PX', math.ceil(tat - now) + 1000)
  end
  redis.call('INCRBY', KEYS[2 * i], tokens)
  redis.call('EXPIREAT', KEYS[2 * i], ARGV[4])
end
return 1
`;

/**
 * KEYS: per subject its request, token and month key. ARGV: now, window, month expiry (unix seconds), then
 * per subject rpm, tpm (0 = none), requests and tokens this replica counted since its last sync. Adds those
 * and returns per subject the shared state after them (request time, token time, month tokens): how a
 * replica that decides locally (redis.rateLimitSyncMs > 0) learns what every other replica counted.
 */
export const SYNC = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS / 3 do
  local rpm = tonumber(ARGV[4 * i])
  local tpm = tonumber(ARGV[4 * i + 1])
  local requests = tonumber(ARGV[4 * i + 2])
  local tokens = tonumber(ARGV[4 * i + 3])
  local reqTat = tonumber(redis.call('GET', KEYS[3 * i - 2]) or '0')
  if rpm > 0 and requests > 0 then
    reqTat = math.max(reqTat, now) + requests * window / rpm
    redis.call('SET', KEYS[3 * i - 2], string.format('%.17g', reqTat), 'PX', math.ceil(reqTat - now) + 1000)
  end
  local tokTat = tonumber(redis.call('GET', KEYS[3 * i - 1]) or '0')
  if tpm > 0 and tokens > 0 then
    tokTat = math.max(tokTat, now) + tokens * window / tpm
    redis.call('SET', KEYS[3 * i - 1], string.format('%.17g', tokTat), 'PX', math.ceil(tokTat - now) + 1000)
  end
  local used
  if tokens > 0 then
    used = redis.call('INCRBY', KEYS[3 * i], tokens)
    redis.call('EXPIREAT', KEYS[3 * i], ARGV[3])
  else
    used = tonumber(redis.call('GET', KEYS[3 * i]) or '0')
  end
  out[3 * i - 2] = string.format('%.17g', reqTat)
  out[3 * i - 1] = string.format('%.17g', tokTat)
  out[3 * i] = string.format('%.0f', used)
end
return out
`;

/**
 * KEYS: month keys. ARGV: month expiry (unix seconds), then one count per key. Raises each counter to at
 * least its count (seeding: replicas booting at once agree, and a running count is never lowered).
 * Returns the resulting counts.
 */
export const RAISE_MONTH = `
local out = {}
for i = 1, #KEYS do
  local current = tonumber(redis.call('GET', KEYS[i]) or '0')
  local seed = tonumber(ARGV[i + 1])
  if seed > current then
    redis.call('SET', KEYS[i], ARGV[i + 1])
    current = seed
  end
  redis.call('EXPIREAT', KEYS[i], ARGV[1])
  out[i] = string.format('%.0f', current)
end
return out
`;
