"""Minimal GitHub Actions expression evaluator: enough for run-sweep.yml's multi-node agentic
`with:` block and benchmark-multinode-tmpl.yml's env / step env / run script."""
import json, re

class Null: pass

def to_str(v):
    if v is None: return ''
    if v is True: return 'true'
    if v is False: return 'false'
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, (dict, list)): return to_json(v)
    return str(v)

def to_json(v):
    # GitHub's toJson pretty-prints with two-space indentation.
    return json.dumps(v, indent=2)

def truthy(v):
    return not (v is None or v is False or v == 0 or v == '')

TOK = re.compile(r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')|(?P<op>&&|\|\||==|!=|!|\(|\)|\[|\]|,|\.\*|\.)|(?P<id>[A-Za-z_][A-Za-z0-9_-]*))")

def tokenize(s):
    out, pos = [], 0
    s = s.strip()
    while pos < len(s):
        m = TOK.match(s, pos)
        if not m or m.end() == pos:
            raise SyntaxError(f'bad token at {s[pos:]!r}')
        pos = m.end()
        for k in ('num', 'str', 'op', 'id'):
            if m.group(k) is not None:
                out.append((k, m.group(k)))
    return out

class Parser:
    def __init__(self, toks, ctx):
        self.t, self.i, self.ctx = toks, 0, ctx
    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else (None, None)
    def take(self, val=None):
        k, v = self.peek()
        if val is not None and v != val:
            raise SyntaxError(f'expected {val}, got {v}')
        self.i += 1
        return k, v
    def parse(self):
        v = self.orx()
        assert self.i == len(self.t), self.t[self.i:]
        return v
    def orx(self):
        v = self.andx()
        while self.peek()[1] == '||':
            self.take(); r = self.andx()
            v = v if truthy(v) else r
        return v
    def andx(self):
        v = self.eq()
        while self.peek()[1] == '&&':
            self.take(); r = self.eq()
            v = r if truthy(v) else v
        return v
    def eq(self):
        v = self.unary()
        while self.peek()[1] in ('==', '!='):
            _, op = self.take(); r = self.unary()
            a, b = v, r
            if isinstance(a, str) and isinstance(b, str):
                a, b = a.lower(), b.lower()
            v = (a == b) if op == '==' else (a != b)
        return v
    def unary(self):
        if self.peek()[1] == '!':
            self.take(); return not truthy(self.unary())
        return self.postfix()
    def postfix(self):
        v = self.primary()
        while True:
            k, t = self.peek()
            if t == '.':
                self.take(); _, name = self.take()
                v = v.get(name) if isinstance(v, dict) else None
            elif t == '.*':
                self.take(); _, nxt = self.take('.'); _, name = self.take()
                v = [x.get(name) for x in (v or []) if isinstance(x, dict)]
            elif t == '[':
                self.take(); idx = self.orx(); self.take(']')
                if isinstance(v, dict): v = v.get(idx)
                elif isinstance(v, list) and isinstance(idx, (int, float)) and int(idx) < len(v): v = v[int(idx)]
                else: v = None
            else:
                return v
    def primary(self):
        k, t = self.take()
        if k == 'num':
            return float(t) if '.' in t else int(t)
        if k == 'str':
            return t[1:-1].replace("''", "'")
        if t == '(':
            v = self.orx(); self.take(')'); return v
        if k == 'id':
            if t in ('true', 'false'): return t == 'true'
            if t == 'null': return None
            if self.peek()[1] == '(':
                self.take(); args = []
                if self.peek()[1] != ')':
                    args.append(self.orx())
                    while self.peek()[1] == ',':
                        self.take(); args.append(self.orx())
                self.take(')')
                return call(t, args)
            return self.ctx.get(t)
        raise SyntaxError(t)

def call(name, args):
    n = name.lower()
    if n == 'tojson': return to_json(args[0])
    if n == 'fromjson': return json.loads(args[0])
    if n == 'join':
        sep = args[1] if len(args) > 1 else ','
        if isinstance(args[0], list): return sep.join(to_str(x) for x in args[0])
        return to_str(args[0])
    if n == 'contains':
        h, nd = args
        if isinstance(h, list): return any(to_str(x).lower() == to_str(nd).lower() for x in h)
        return to_str(nd).lower() in to_str(h).lower()
    if n == 'format':
        s = args[0]
        for i, a in enumerate(args[1:]): s = s.replace('{%d}' % i, to_str(a))
        return s
    raise NameError(name)

def evaluate(expr, ctx):
    return Parser(tokenize(expr), ctx).parse()

EXPR = re.compile(r'\$\{\{(.*?)\}\}', re.S)

def render(value, ctx):
    """A whole-expression value keeps its type; mixed text becomes a string."""
    if not isinstance(value, str):
        return value
    ms = list(EXPR.finditer(value))
    if len(ms) == 1 and ms[0].start() == 0 and ms[0].end() == len(value.rstrip()) and not value[:0]:
        return evaluate(ms[0].group(1), ctx)
    return EXPR.sub(lambda mm: to_str(evaluate(mm.group(1), ctx)), value)
