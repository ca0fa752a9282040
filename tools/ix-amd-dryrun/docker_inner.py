import json, os, subprocess, sys
spec = json.load(open(sys.argv[1]))
root = spec['root']
def sh(*a):
    subprocess.run(a, check=True)
def bind(src, dst, ro):
    if os.path.isdir(src):
        os.makedirs(dst, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.exists(dst):
            open(dst, 'w').close()
    sh('mount', '--bind', src, dst)
    if ro:
        sh('mount', '-o', 'remount,ro,bind', dst)
os.makedirs(root, exist_ok=True)
for l in ('bin', 'lib', 'lib64', 'sbin'):
    p = f'{root}/{l}'
    if not os.path.lexists(p):
        os.symlink(f'usr/{l}', p)
for d in ('tmp', 'root', 'workspace'):
    os.makedirs(f'{root}/{d}', exist_ok=True)
bind('/usr', f'{root}/usr', True)
bind('/etc', f'{root}/etc', True)
bind('/dev', f'{root}/dev', False)
os.makedirs(f'{root}/proc', exist_ok=True)
sh('mount', '-t', 'proc', 'proc', f'{root}/proc')
bind('/root/.pyenv', f'{root}/root/.pyenv', True)
bind('/tmp/ixamd/harness/ctr-stubs', f'{root}/oracle/ctr-stubs', True)
bind('/tmp/ixamd/harness/trap.sh', f'{root}/oracle/trap.sh', True)
bind(spec['cap'], f'{root}/oracle/cap', False)
for src, dst, ro in spec['mounts']:
    bind(src, root + dst, ro)
os.chroot(root)
os.chdir('/')
os.execve('/bin/bash', spec['argv'], spec['env'])
