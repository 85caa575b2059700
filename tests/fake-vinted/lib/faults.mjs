// Fault injection: rules that make the fake misbehave on chosen requests, so tests can drive the
// host and the extension through the failures the real site produces (expired sessions, bot
// challenges, rate limits, lost responses, slowness).
//
// A rule matches on method and a regex over the path. It lets the first `afterMatches` matching
// requests through, then fires on the next `times` ones, then is spent. Every rule counts every
// request it matches, even when an earlier rule fired on it, so "the 2nd photo upload" means the
// same thing whatever other rules exist. When several rules could fire, the oldest one does.

const ACTIONS = ['status', 'html', 'rateLimit', 'dropAfterCreate', 'expireSession'];
const KNOWN_KEYS = new Set([
  'method', 'pathPattern', 'times', 'afterMatches', 'delayMs', 'json', 'headers', ...ACTIONS,
]);

export class FaultError extends Error {
  constructor(message) {
    super(message);
    this.name = 'FaultError';
  }
}

export class FaultList {
  #rules = [];
  #nextId = 1;

  /** Validates and adds a rule; returns its public description (with its id). */
  add(spec) {
    const rule = { id: this.#nextId, ...normalizeFault(spec), seen: 0, fired: 0 };
    this.#nextId += 1;
    this.#rules.push(rule);
    return describe(rule);
  }

  /** The rule that fires for this request, if any (and counts the request for every rule). */
  match(method, path) {
    let firing = null;
    for (const rule of this.#rules) {
      if (!matches(rule, method, path)) continue;
      rule.seen += 1;
      const eligible = rule.seen > rule.afterMatches && rule.fired < rule.times;
      if (eligible && !firing) {
        rule.fired += 1;
        firing = rule;
      }
    }
    return firing ? describe(firing) : null;
  }

  list() {
    return this.#rules.map(describe);
  }

  clear() {
    this.#rules = [];
  }
}

/** Checks a fault spec and fills in defaults; throws FaultError on anything unclear. */
export function normalizeFault(spec) {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new FaultError('a fault must be an object');
  const unknown = Object.keys(spec).filter((key) => !KNOWN_KEYS.has(key));
  // Unknown keys are refused so that a typo ("pathPatern") cannot silently match everything.
  if (unknown.length) throw new FaultError(`unknown fault keys: ${unknown.join(', ')}`);
  const actions = ACTIONS.filter((key) => spec[key] !== undefined && spec[key] !== false);
  // `status` may accompany `html` (the challenge page's status); otherwise one action at most.
  const primary = actions.filter((key) => !(key === 'status' && actions.includes('html')));
  if (primary.length > 1) throw new FaultError(`a fault has one action, got ${primary.join(', ')}`);
  if (primary.length === 0 && spec.delayMs === undefined) {
    throw new FaultError(`a fault needs an action (${ACTIONS.join(', ')}) or delayMs`);
  }
  return {
    method: spec.method === undefined ? null : checkMethod(spec.method),
    pathPattern: spec.pathPattern === undefined ? null : checkPattern(spec.pathPattern),
    times: checkCount(spec.times ?? 1, 'times', 1),
    afterMatches: checkCount(spec.afterMatches ?? 0, 'afterMatches', 0),
    delayMs: spec.delayMs === undefined ? 0 : checkCount(spec.delayMs, 'delayMs', 0),
    action: primary[0] ?? 'delay',
    status: spec.status === undefined ? null : checkStatus(spec.status),
    json: spec.json === undefined ? null : spec.json,
    headers: checkHeaders(spec.headers ?? {}),
    html: spec.html === undefined || spec.html === true ? null : checkString(spec.html, 'html'),
    retryAfter: spec.rateLimit === undefined ? null : checkRetryAfter(spec.rateLimit),
  };
}

function matches(rule, method, path) {
  if (rule.method && rule.method !== method.toUpperCase()) return false;
  return !rule.pathPattern || new RegExp(rule.pathPattern).test(path);
}

function describe(rule) {
  return { ...rule, headers: { ...rule.headers }, remaining: Math.max(0, rule.times - rule.fired) };
}

function checkMethod(method) {
  if (typeof method !== 'string' || !/^[A-Za-z]+$/.test(method)) throw new FaultError('method must be an HTTP method');
  return method.toUpperCase();
}

function checkPattern(pattern) {
  if (typeof pattern !== 'string') throw new FaultError('pathPattern must be a regex string');
  try {
    new RegExp(pattern); // eslint-disable-line no-new
  } catch (error) {
    throw new FaultError(`pathPattern is not a valid regex: ${error.message}`);
  }
  return pattern;
}

function checkCount(value, name, min) {
  if (!Number.isInteger(value) || value < min) throw new FaultError(`${name} must be an integer >= ${min}`);
  return value;
}

function checkStatus(status) {
  if (!Number.isInteger(status) || status < 200 || status > 599) throw new FaultError('status must be 200..599');
  return status;
}

function checkString(value, name) {
  if (typeof value !== 'string') throw new FaultError(`${name} must be true or a string`);
  return value;
}

function checkHeaders(headers) {
  if (typeof headers !== 'object' || Array.isArray(headers)) throw new FaultError('headers must be an object');
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
}

// `rateLimit: true` means Retry-After 1; a number is the Retry-After in seconds.
function checkRetryAfter(value) {
  if (value === true) return 1;
  return checkCount(value, 'rateLimit (Retry-After seconds)', 0);
}
