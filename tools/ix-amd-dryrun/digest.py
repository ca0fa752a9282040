"""Digest a clean + trap pass of one case into the golden JSON (schema of tests/fixtures/ix-amd)."""
import argparse, json, os, re, shlex, subprocess, sys

DROP = {'PATH', 'HOME', 'PWD', 'SHLVL', '_', 'OLDPWD', 'BASH_ENV'}
REC = '/tmp/ixamd/harness/rec'

ap = argparse.ArgumentParser()
ap.add_argument('--clean', required=True)
ap.add_argument('--trap', required=True)
ap.add_argument('--row', required=True)
ap.add_argument('--index', type=int, required=True)
ap.add_argument('--scenario', required=True)
ap.add_argument('--out', required=True)
a = ap.parse_args()

def read_env(path):
    raw = open(path, 'rb').read()
    out = {}
    for item in raw.split(b'\0'):
        if not item:
            continue
        k, v = item.decode().split('=', 1)
        out[k] = v
    return out

def drop(env):
    return {k: v for k, v in env.items() if k not in DROP}

rendered = json.load(open(f'{a.trap}/rendered.json'))
entry = rendered['entry']

def dry_lines(p):
    txt = open(f'{p}/benchmark_logs/slurm_job-4242.out').read()
    return [l[len('DRY RUN: '):] for l in txt.split('\n') if l.startswith('DRY RUN: ')]

# clean and trap passes print identical DRY RUN lines and command dumps
assert dry_lines(a.clean) == dry_lines(a.trap)
nodes = sorted(int(d[4:]) for d in os.listdir(a.trap) if re.fullmatch(r'node\d+', d))
for k in nodes:
    for p in (a.clean, a.trap):
        assert open(f'{p}/rank{k}_rc').read().strip() == '0'
    dumps = []
    for p in (a.clean, a.trap):
        f = f'{p}/node{k}/host_tmp/slurm_job-4242/commands_mock-node{k}.txt'
        lines = open(f).read().split('\n')
        assert lines[0].startswith('# Commands dump'), lines[0]
        dumps.append(lines[1:])
    assert dumps[0] == dumps[1], f'command dump differs on node {k}'
    # docker argv identical between passes (no host path differs: same workspace path)
    da = [json.load(open(f'{p}/node{k}/docker_argv.json')) for p in (a.clean, a.trap)]
    assert da[0] == da[1]
    assert not os.path.exists(f'{a.trap}/node{k}/cap/dup')
    assert not os.path.exists(f'{a.clean}/node{k}/cap/pre_setup_deps.env')  # clean pass had no trap
for p in (a.clean, a.trap):
    assert open(f'{p}/job_slurm_rc').read().strip() == '0'
dry = dry_lines(a.trap)

node_ips = None
env_sh = None
captured = []   # (rank, role, cmd, env)
for k in nodes:
    cap = f'{a.trap}/node{k}/cap'
    docker_env = json.load(open(f'{a.trap}/node{k}/docker_env.json'))
    pre = read_env(f'{cap}/pre_setup_deps.env')
    pre_env = read_env(f'{cap}/pre_env_sh.env')
    post = read_env(f'{cap}/post_env_sh.env')
    # environment before setup_deps.sh == docker -e list (server.sh re-exports WS_PATH/ENGINE unchanged)
    assert drop(pre) == drop(docker_env), (set(drop(pre).items()) ^ set(drop(docker_env).items()))
    # setup_deps.sh exports nothing for sglang
    assert drop(pre) == drop(pre_env)
    delta = {}
    for key in sorted(set(drop(pre)) | set(drop(post))):
        if pre.get(key) != post.get(key):
            delta[key] = post.get(key)
    if env_sh is None:
        env_sh = delta
    else:
        assert env_sh == delta, f'env_sh differs on rank {k}'
    ips = docker_env['IPADDRS'].split(',')
    node_ips = node_ips or ips
    assert node_ips == ips
    for role in ('prefill', 'decode', 'router'):
        if os.path.exists(f'{cap}/{role}.cmd'):
            cmd = open(f'{cap}/{role}.cmd').read()
            env = read_env(f'{cap}/{role}.env')
            captured.append((k, role, cmd, env))

# every captured string is one of the DRY RUN lines
for _, _, cmd, _ in captured:
    assert cmd in dry, cmd[:200]
assert node_ips == [f'10.0.0.{i}' for i in range(len(nodes))]

ASSIGN = re.compile(r'^([A-Za-z_][A-Za-z0-9_]*)=(.*)$', re.S)

def replay(cmd, env, router):
    """Run the string as the non-DRY path would, with the recorder first on PATH."""
    e = dict(env)
    e['PATH'] = REC + ':' + env.get('PATH', '')
    e.pop('BASH_ENV', None)
    if router:
        e['NO_COLOR'] = '1'
        argv = ['bash', '-c', 'exec ' + cmd]
    else:
        argv = ['bash', '-c', cmd]
    r3, w3 = os.pipe(); r4, w4 = os.pipe()
    import tempfile
    with tempfile.TemporaryFile() as fa, tempfile.TemporaryFile() as fe:
        p = subprocess.run(argv, env=e, pass_fds=(3, 4), preexec_fn=lambda: (os.dup2(fa.fileno(), 3), os.dup2(fe.fileno(), 4)),
                           cwd='/')
        assert p.returncode == 0
        fa.seek(0); fe.seek(0)
        av = [x.decode() for x in fa.read().split(b'\0')[:-1]]
        ev = {}
        for item in fe.read().split(b'\0')[:-1]:
            kk, vv = item.decode().split('=', 1)
            ev[kk] = vv
    for fd in (r3, w3, r4, w4):
        os.close(fd)
    return av, ev

processes = []
order = sorted([c for c in captured if c[1] != 'router'], key=lambda c: c[0]) + [c for c in captured if c[1] == 'router']
for rank, role, cmd, env in order:
    words = shlex.split(cmd, posix=True)
    inline = []
    while words and ASSIGN.match(words[0]):
        m = ASSIGN.match(words[0]); inline.append([m.group(1), m.group(2)]); words.pop(0)
    av, ev = replay(cmd, env, role == 'router')
    assert av == words, (av, words)
    expect = drop(env)
    for kk, vv in inline:
        expect[kk] = vv
    if role == 'router':
        assert not inline
        expect['NO_COLOR'] = '1'
    assert drop(ev) == expect, set(drop(ev).items()) ^ set(expect.items())
    processes.append({'rank': rank, 'role': role, 'argv': av, 'inline_env': inline,
                      'env': dict(sorted(drop(ev).items()))})

# the environment the entry script received (launcher env at its last command before the entry script)
wf = drop(read_env(f'{a.trap}/sudo_env.0.bin'))
wf_clean = drop(read_env(f'{a.clean}/sudo_env.0.bin'))
assert wf == wf_clean

import yaml
master = yaml.safe_load(open('/tmp/ixamd/ix/configs/amd-master.yaml'))
out = {
    'row': a.row,
    'index': a.index,
    'scenario': a.scenario,
    'conc': entry['conc'],
    'model': master[a.row]['model'],
    'ix_commit': '843c6254f',
    'node_ips': node_ips,
    'workflow_env': dict(sorted(wf.items())),
    'env_sh': env_sh,
    'processes': processes,
}
with open(a.out, 'w') as f:
    json.dump(out, f, indent=2, ensure_ascii=False)
    f.write('\n')
print('wrote', a.out, 'processes', [(p['rank'], p['role']) for p in processes])
