// Bucket configuration documents as the JSON the AWS CLI takes (`aws s3api
// put-bucket-cors --cors-configuration`, `put-bucket-lifecycle-configuration`), turned
// into S3's XML and back. A JSON list named in PLURALS is a run of XML elements with the
// singular name; everything else maps name for name. The server validates the result:
// a rule it refuses comes back as its error, shown in words.

const PLURALS = {
  CORSRules: 'CORSRule', AllowedOrigins: 'AllowedOrigin', AllowedMethods: 'AllowedMethod',
  AllowedHeaders: 'AllowedHeader', ExposeHeaders: 'ExposeHeader',
  Rules: 'Rule', Transitions: 'Transition', Tags: 'Tag',
  NoncurrentVersionTransitions: 'NoncurrentVersionTransition',
};
const SINGULARS = Object.fromEntries(Object.entries(PLURALS).map(([many, one]) => [one, many]));
const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

function escape(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function elementsOf(name, value) {
  if (Array.isArray(value)) {
    const one = PLURALS[name] || name;
    return value.map((item) => elementsOf(one, item)).join('');
  }
  if (value !== null && typeof value === 'object') {
    const inner = Object.entries(value).map(([child, v]) => elementsOf(child, v)).join('');
    return `<${name}>${inner}</${name}>`;
  }
  if (value === null || value === undefined) return '';
  return `<${name}>${escape(value)}</${name}>`;
}

// `text` is the editor's JSON; throws a SyntaxError (shown in words) if it is not JSON.
export function toXml(root, text) {
  const value = JSON.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SyntaxError('The configuration must be a JSON object, such as {"Rules": [...]}.');
  }
  const inner = Object.entries(value).map(([name, v]) => elementsOf(name, v)).join('');
  return `<?xml version="1.0" encoding="UTF-8"?><${root} xmlns="${S3_NS}">${inner}</${root}>`;
}

function valueOf(node) {
  const children = Array.from(node.children);
  if (children.length === 0) {
    const text = node.textContent;
    return /^\d+$/.test(text) && text.length < 10 ? Number(text) : text;
  }
  const out = {};
  for (const child of children) {
    const many = SINGULARS[child.localName];
    if (many) (out[many] = out[many] || []).push(valueOf(child));
    else out[child.localName] = valueOf(child);
  }
  return out;
}

// An S3 XML document as indented editor JSON.
export function toJson(xml) {
  return JSON.stringify(valueOf(xml.documentElement), null, 2);
}
