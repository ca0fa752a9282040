"""Render InferenceX's workflow for one matrix entry and run the 'Launch multi-node job script'
step (unmodified scripts, DRY_RUN=1) under the host stubs. One pass: clean or trap."""
import argparse, json, os, shutil, subprocess, sys
import yaml
sys.path.insert(0, '/tmp/ixamd/harness')
from ghexpr import render, to_str

IX = '/tmp/ixamd/ix'
PY = '/root/.pyenv/versions/3.11.7/bin/python3'
GH_ROOT = '/tmp/ixamd/gh'
WS = f'{GH_ROOT}/_work/InferenceX/InferenceX'

ap = argparse.ArgumentParser()
ap.add_argument('--key', required=True)
ap.add_argument('--index', type=int, required=True)
ap.add_argument('--conc', required=True, help='x-joined concurrency batch of the matrix entry, e.g. 1')
ap.add_argument('--joined', action='store_true',
                help='NOT what CI does: put the whole search-space conc-list into one matrix entry')
ap.add_argument('--pass-dir', required=True)
ap.add_argument('--trap', action='store_true')
a = ap.parse_args()

# 1. matrix entry, exactly as utils/process_changelog.py generates benchmark rows
gen = subprocess.run([PY, 'utils/matrix_logic/generate_sweep_configs.py', 'test-config',
                      '--config-keys', a.key, '--config-files', 'configs/amd-master.yaml',
                      'configs/nvidia-master.yaml', '--runner-config', 'configs/runners.yaml',
                      '--no-evals'], cwd=IX, check=True, capture_output=True, text=True)
entries = json.loads(gen.stdout)
sys.path.insert(0, f'{IX}/utils')
from process_changelog import recipe_fingerprint  # noqa: E402
master = yaml.safe_load(open(f'{IX}/configs/amd-master.yaml'))
row = master[a.key]
[scenario] = list(row['scenarios'])   # one scenario per row here
sc = row['scenarios'][scenario][0]
ss = sc['search-space'][a.index]

def same_recipe(e):
    for side in ('prefill', 'decode'):
        for k in ('num-worker', 'tp', 'ep', 'dp-attn', 'additional-settings'):
            if e[side][k] != ss[side][k]:
                return False
    return (e['spec-decoding'] == ss['spec-decoding'] and e.get('kv-offloading') == ss.get('kv-offloading')
            and e.get('kv-offload-backend') == ss.get('kv-offload-backend'))

mine = [e for e in entries if same_recipe(e)]
if scenario == 'fixed-seq-len':
    mine = [e for e in mine if e['conc'] == ss['conc-list']]
assert [c for e in mine for c in e['conc']] == ss['conc-list'], (mine, ss['conc-list'])
# the generator's entries for this search-space index sit contiguously, in conc order
want = [int(c) for c in a.conc.split('x')]
if a.joined:
    entry = dict(mine[0]); entry['conc'] = want
    assert want == ss['conc-list']
    entry['exp-name'] = entry['exp-name'].replace(f"_conc{mine[0]['conc'][0]}_", '_conc' + 'x'.join(map(str, want)) + '_')
else:
    [entry] = [e for e in mine if e['conc'] == want]
entry['recipe-fingerprint'] = recipe_fingerprint(entry)

# 2. runner: the first runner of the row's own pool
runners = yaml.safe_load(open(f'{IX}/configs/runners.yaml'))
runner_name = runners['labels'][entry['runner']][0]

# 3. run-sweep.yml: the multi-node agentic job's `with:` on this matrix entry
sweep = yaml.safe_load(open(f'{IX}/.github/workflows/run-sweep.yml'))
if scenario == 'agentic-coding':
    job = sweep['jobs']['sweep-multi-node-agentic']
else:
    seq = {(1024, 1024): '1k1k', (8192, 1024): '8k1k'}[(entry['isl'], entry['osl'])]
    job = sweep['jobs'][f'sweep-multi-node-{seq}']
assert job['uses'] == './.github/workflows/benchmark-multinode-tmpl.yml'
ctx = {'matrix': {'config': entry}, 'github': {'event': {}, 'run_attempt': 1}}
with_vals = {k: render(v, ctx) for k, v in job['with'].items()}

tmpl = yaml.safe_load(open(f'{IX}/.github/workflows/benchmark-multinode-tmpl.yml'))
decl = tmpl[True]['workflow_call']['inputs'] if True in tmpl else tmpl['on']['workflow_call']['inputs']
inputs = {}
for name, d in decl.items():
    if name in with_vals:
        v = with_vals[name]
        inputs[name] = v if d['type'] == 'boolean' else to_str(v)
    elif 'default' in d:
        inputs[name] = d['default']
    else:
        assert not d.get('required'), name
        inputs[name] = '' if d['type'] == 'string' else None
extra = set(with_vals) - set(decl)
assert not extra, extra

secrets = {}   # secrets are empty here
wctx = {'inputs': inputs, 'secrets': secrets, 'runner': {'name': runner_name}, 'github': {'run_attempt': 1}}
wf_env = {k: to_str(render(v, wctx)) for k, v in tmpl['env'].items()}
[step] = [s for s in tmpl['jobs']['benchmark']['steps'] if s.get('name') == 'Launch multi-node job script']
sctx = dict(wctx, env=wf_env)
step_env = {k: to_str(render(v, sctx)) for k, v in step['env'].items()}
script = render(step['run'], sctx)
assert '${{' not in script

# 4. fresh workspace (GITHUB_WORKSPACE) = a copy of the git-archived tree
P = os.path.abspath(a.pass_dir)
if os.path.exists(P):
    shutil.rmtree(P)
os.makedirs(P)
if os.path.exists(GH_ROOT):
    shutil.rmtree(GH_ROOT)
os.makedirs(os.path.dirname(WS))
shutil.copytree(IX, WS, symlinks=True)
os.makedirs(f'{GH_ROOT}/home')
open(f'{GH_ROOT}/github_env', 'w').close()
with open('/tmp/ixamd/run/current', 'w') as f:
    f.write(P)
if a.trap:
    open(f'{P}/TRAP', 'w').close()
with open(f'{P}/step.sh', 'w') as f:
    f.write(script)

base = {
    'PATH': '/tmp/ixamd/harness/host-stubs:/root/.pyenv/versions/3.11.7/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'HOME': f'{GH_ROOT}/home', 'USER': 'runner', 'LANG': 'C.UTF-8',
    'GITHUB_ACTIONS': 'true', 'GITHUB_WORKSPACE': WS, 'GITHUB_ENV': f'{GH_ROOT}/github_env',
    'DRY_RUN': '1',
}
env = dict(base); env.update(wf_env); env.update(step_env)
json.dump({'entry': entry, 'runner_name': runner_name, 'with': {k: v for k, v in with_vals.items()},
           'inputs': inputs, 'workflow_env': wf_env, 'step_env': step_env, 'base_env': base,
           'script': script}, open(f'{P}/rendered.json', 'w'), indent=1, sort_keys=True, default=str)
r = subprocess.run(['bash', '--noprofile', '--norc', '-eo', 'pipefail', f'{P}/step.sh'],
                   cwd=WS, env=env, stdout=open(f'{P}/step.out', 'w'), stderr=open(f'{P}/step.err', 'w'))
with open(f'{P}/step_rc', 'w') as f:
    f.write(str(r.returncode))
shutil.copy(f'{GH_ROOT}/github_env', f'{P}/github_env')
# keep the job's host-side files (BENCHMARK_LOGS_DIR) for inspection
shutil.copytree(f'{WS}/benchmark_logs', f'{P}/benchmark_logs', symlinks=True)
print('step rc', r.returncode)
