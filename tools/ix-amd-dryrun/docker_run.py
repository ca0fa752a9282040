"""docker run stand-in: records argv, then runs the container command in a private mount
namespace + chroot, with env -i PATH HOME=/root and exactly the -e list (docker's rules)."""
import json, os, subprocess, sys

P = open('/tmp/ixamd/run/current').read().strip()
argv = sys.argv[1:]
assert argv[0] == 'run'
VALUE_OPTS = {'--stop-timeout', '--device', '--ulimit', '--network', '--ipc', '--group-add',
              '--cap-add', '--security-opt', '-v', '--volume', '--shm-size', '-e', '--env',
              '--name', '--entrypoint', '--env-file'}
FLAG_OPTS = {'--init', '--privileged', '--rm', '-d', '-it', '-i', '-t'}
i = 1
opts = []
while i < len(argv):
    a = argv[i]
    if a in VALUE_OPTS:
        opts.append((a, argv[i + 1])); i += 2
    elif a in FLAG_OPTS:
        opts.append((a, None)); i += 1
    elif a.startswith('--') and '=' in a:
        k, v = a.split('=', 1); opts.append((k, v)); i += 1
    elif a.startswith('-'):
        sys.exit(f'docker stub: unknown option {a}')
    else:
        break
image = argv[i]
cmd = argv[i + 1:]
rank = int(os.environ['SLURM_PROCID'])
node = f'{P}/node{rank}'
os.makedirs(node, exist_ok=True)
with open(f'{node}/docker_argv.json', 'w') as f:
    json.dump(argv, f, indent=1)

# environment: docker's -e rules, last one wins
env = {}
for k, v in opts:
    if k in ('-e', '--env'):
        if '=' in v:
            n, val = v.split('=', 1); env[n] = val
        elif v in os.environ:
            env[v] = os.environ[v]
        else:
            env.pop(v, None)
    elif k == '--env-file':
        sys.exit('docker stub: --env-file not supported')
with open(f'{node}/docker_env.json', 'w') as f:
    json.dump(env, f, indent=1, sort_keys=True)

# volumes
root = f'{node}/root'
model_dir = os.environ.get('MODEL_DIR', '')
mounts = []   # (src, dst_in_root, ro)
skipped = []
for k, v in opts:
    if k not in ('-v', '--volume'):
        continue
    parts = v.split(':')
    src, dst = parts[0], parts[1]
    ro = len(parts) > 2 and 'ro' in parts[2].split(',')
    if dst == '/run_logs' and src == '/tmp':
        src = f'{node}/host_tmp'; os.makedirs(src, exist_ok=True)
    elif dst == '/models':
        src = f'{node}/models_empty'; os.makedirs(src, exist_ok=True)
    elif dst == '/root/.ssh':
        skipped.append(v); continue
    elif dst in ('/var/run/docker.sock', '/usr/bin/docker'):
        # CLIENT_IMAGE sibling-container plumbing; only the non-DRY client launch uses it.
        skipped.append(v); continue
    mounts.append((src, dst, ro))
with open(f'{node}/docker_mounts.json', 'w') as f:
    json.dump({'mounts': mounts, 'skipped': skipped, 'image': image, 'cmd': cmd}, f, indent=1)

cap = f'{node}/cap'
os.makedirs(cap, exist_ok=True)
trap_pass = os.path.exists(f'{P}/TRAP')
ctr_path = '/oracle/ctr-stubs:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
cenv = {'PATH': ctr_path, 'HOME': '/root'}
cenv.update(env)
if trap_pass:
    cenv['BASH_ENV'] = '/oracle/trap.sh'
assert cmd[:2] == ['bash', '-lc'], cmd
spec = {'root': root, 'mounts': mounts, 'cap': cap, 'env': cenv,
        'argv': ['bash', '-c', cmd[2]]}
with open(f'{node}/spec.json', 'w') as f:
    json.dump(spec, f)
r = subprocess.run(['unshare', '--mount', '--propagation', 'private', '--',
                    sys.executable, '/tmp/ixamd/harness/docker_inner.py', f'{node}/spec.json'])
sys.exit(r.returncode)
