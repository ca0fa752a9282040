//! Real-engine multi-node deployments against srt-slurm's own rendering of the same recipes
//! (`tests/fixtures/srt-slurm`, README there): the same workers on the same nodes, each
//! engine given the same settings and environment, Dynamo's frontend given the same, the same
//! instances waited for, the same TensorRT-LLM settings files.
//!
//! Where servebench differs on purpose (`crate::srt`'s module comment), the comparison leaves
//! out exactly that: ports the launcher picks, the model path (srt-slurm mounts `/model`), its
//! config dump and GPU list flags, its install and bookkeeping variables.

mod ix;

use serde_json::Value;
use servebench_sweep::cluster::{
    deployment, nodes_needed, ClientSettings, ClusterDeployment, LaunchRecipes, Node, Ready,
};
use servebench_sweep::engine::{Engines, Launch};
use servebench_sweep::plan::Job;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/srt-slurm")
}

/// A master config of one multi-node row naming `recipe` (`CONFIG_FILE=<recipe>`).
fn job(
    framework: &str,
    recipe: &str,
    prefill: (u32, u32, u32, bool),
    decode: (u32, u32, u32, bool),
) -> Job {
    let pool = |(n, tp, ep, dp): (u32, u32, u32, bool), settings: &str| {
        format!("          num-worker: {n}\n          tp: {tp}\n          ep: {ep}\n          dp-attn: {dp}\n{settings}")
    };
    let settings =
        format!("          additional-settings:\n          - \"CONFIG_FILE={recipe}\"\n");
    let text = format!(
        "row:\n  image: img\n  model: deepseek-ai/DeepSeek-R1-0528\n  model-prefix: dsr1\n  runner: gb200\n  precision: fp4\n  framework: {framework}\n  multinode: true\n  disagg: true\n  kv-p2p-transfer: nixl\n  router: {{ name: dynamo-router, version: \"0.8.1\" }}\n  scenarios:\n    fixed-seq-len:\n    - isl: 8192\n      osl: 1024\n      search-space:\n      - conc-list: [4]\n        prefill:\n{}        decode:\n{}",
        pool(prefill, &settings),
        pool(decode, "")
    );
    ix::plan_row(&text)
}

fn nodes(n: u32) -> Vec<Node> {
    (0..n)
        .map(|i| Node {
            name: format!("node{i:02}"),
            addr: format!("10.0.0.{i}"),
        })
        .collect()
}

fn render(job: &Job) -> ClusterDeployment {
    let dirs = vec![fixtures()];
    let l = launch(dirs);
    let n = nodes_needed(job, Engines::Recipe, &l.recipes).unwrap();
    deployment(job, &l, &nodes(n), || {
        unreachable!("real deployments pick their own ports")
    })
    .unwrap()
}

fn oracle(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(format!("{name}.rendered.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// srt-slurm names the infra node by host name where servebench uses its address.
fn addr(s: &str) -> String {
    let mut s = s.to_string();
    for i in (0..40).rev() {
        s = s.replace(&format!("node{i:02}"), &format!("10.0.0.{i}"));
    }
    s
}

/// Flags left out of the comparison: values the launcher picks (ports, the model's path, its
/// own dump file, srt-slurm's GPU list).
const LAUNCHER_FLAGS: [&str; 8] = [
    "--port",
    "--nccl-port",
    "--http-port",
    "--model-path",
    "--model",
    "--dump-config-to",
    "--device-ids",
    "--data-parallel-rpc-port",
];

/// A command's program and flags, each flag's last value (argparse's rule), the launcher's
/// flags left out and `--dist-init-addr` kept to its host.
fn flags(argv: &[String]) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
    let first_flag = argv
        .iter()
        .position(|a| a.starts_with("--"))
        .unwrap_or(argv.len());
    let program = argv[..first_flag].to_vec();
    let mut out = BTreeMap::new();
    let mut i = first_flag;
    while i < argv.len() {
        let (flag, inline) = match argv[i].split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (argv[i].clone(), None),
        };
        let mut values: Vec<String> = inline.into_iter().collect();
        i += 1;
        while i < argv.len() && !argv[i].starts_with("--") {
            values.push(argv[i].clone());
            i += 1;
        }
        match flag.as_str() {
            "--dist-init-addr" => {
                values = values
                    .iter()
                    .map(|v| v.split(':').next().unwrap().to_string())
                    .collect()
            }
            // The file's name; srt-slurm's is under its log folder, mounted at /logs.
            "--extra-engine-args" => {
                values = values
                    .iter()
                    .map(|v| v.rsplit('/').next().unwrap().to_string())
                    .collect()
            }
            // TensorRT-LLM's workers serve the model under srt-slurm's mount's folder name
            // (`dsr1`), under the row's model with servebench.
            "--served-model-name" if program.iter().any(|p| p == "dynamo.trtllm") => continue,
            _ => {}
        }
        if !LAUNCHER_FLAGS.contains(&flag.as_str()) {
            out.insert(flag, values.iter().map(|v| addr(v)).collect());
        }
    }
    (program, out)
}

/// Variables left out: srt-slurm's Dynamo install and bookkeeping, and ports it picks.
const LAUNCHER_VARS: [&str; 7] = [
    "DYNAMO_WHEEL_NAME",
    "DYNAMO_VERSION",
    "DYN_VLLM_KV_EVENT_PORT",
    "TRTLLM_EPLB_SHM_NAME",
    "DYN_SYSTEM_PORT",
    "VLLM_NIXL_SIDE_CHANNEL_PORT",
    "VLLM_PORT",
];

fn env_map<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> BTreeMap<String, String> {
    pairs
        .filter(|(k, _)| !LAUNCHER_VARS.contains(k))
        .map(|(k, v)| (k.to_string(), addr(v)))
        .collect()
}

/// A launcher-set flag is given once, even where the recipe sets it too.
fn assert_no_flag_twice(argv: &[String], ctx: &str) {
    let mut seen = std::collections::BTreeSet::new();
    for a in argv.iter().filter(|a| a.starts_with("--")) {
        let flag = a.split('=').next().unwrap();
        assert!(seen.insert(flag), "{ctx}: {flag} given twice in {argv:?}");
    }
}

/// A command's program and arguments, as one list.
fn argv(c: &servebench_sweep::engine::ServerCommand) -> Vec<String> {
    std::iter::once(c.program.clone())
        .chain(c.args.iter().cloned())
        .collect()
}

/// Our command's environment, as compared.
fn our_env(c: &servebench_sweep::engine::ServerCommand) -> BTreeMap<String, String> {
    env_map(c.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// srt-slurm's process's environment (`[[name, value], …]`), as compared.
fn their_env(p: &Value) -> BTreeMap<String, String> {
    let pairs = p["env"].as_array().unwrap();
    env_map(
        pairs
            .iter()
            .map(|kv| (kv[0].as_str().unwrap(), kv[1].as_str().unwrap())),
    )
}

/// srt-slurm recipes in `dirs`.
fn srt(dirs: &[PathBuf]) -> LaunchRecipes {
    LaunchRecipes {
        srt: dirs.to_vec(),
        inferencex: None,
    }
}

/// A launch of real engines finding recipes in `dirs`.
fn launch(dirs: Vec<PathBuf>) -> Launch {
    ix::launch_with(srt(&dirs))
}

use ix::strings;

/// Our deployment against srt-slurm's, process by process.
fn check(name: &str, d: &ClusterDeployment) {
    let o = oracle(name);
    let all = o["processes"].as_array().unwrap();
    let theirs: Vec<&Value> = all.iter().filter(|p| p["stage"] == "workers").collect();
    let nodes = nodes(64);
    assert_eq!(d.workers.len(), theirs.len(), "{name}: worker processes");
    for (ours, t) in d.workers.iter().zip(&theirs) {
        let ctx = format!("{name}: {}", ours.name);
        let on: Vec<String> = ours.nodes.iter().map(|&n| nodes[n].name.clone()).collect();
        assert_eq!(on, strings(&t["nodelist"]), "{ctx}: nodes");
        let tasks = ours.nodes.len() as u64 * u64::from(ours.tasks_per_node);
        assert_eq!(tasks, t["ntasks"].as_u64().unwrap(), "{ctx}: tasks");
        assert_eq!(ours.mpi, t["mpi"].as_bool().unwrap(), "{ctx}: mpi");
        let (program, settings) = flags(&argv(&ours.command));
        assert_no_flag_twice(&argv(&ours.command), &ctx);
        let (their_program, their_settings) = flags(&strings(&t["argv"]));
        assert_eq!(program, their_program, "{ctx}: program");
        assert_eq!(settings, their_settings, "{ctx}: flags");
        assert_eq!(our_env(&ours.command), their_env(t), "{ctx}: environment");
    }
    // nginx on the head node, balancing over a frontend on each of the next nodes.
    let theirs: Vec<&Value> = all.iter().filter(|p| p["stage"] == "frontend").collect();
    let (nginx, their_frontends) = theirs.split_first().unwrap();
    assert_eq!(strings(&nginx["argv"])[0], "nginx");
    assert_eq!(d.router.command.program, "nginx", "{name}: router");
    assert_eq!(
        nodes[d.router.node()].name,
        strings(&nginx["nodelist"])[0],
        "{name}: nginx's node"
    );
    let conf = &d.router.command.files[0].contents;
    let upstream_hosts = |servers: Vec<String>| -> Vec<String> {
        servers
            .iter()
            .map(|s| s.split(':').next().unwrap().to_string())
            .collect()
    };
    let ours: Vec<String> = conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("server ")?.strip_suffix(';'))
        .map(str::to_string)
        .collect();
    assert_eq!(
        upstream_hosts(ours),
        upstream_hosts(strings(&o["nginx_upstreams"])),
        "{name}: upstreams"
    );
    assert_eq!(
        d.frontends.len(),
        their_frontends.len(),
        "{name}: frontends"
    );
    for (f, t) in d.frontends.iter().zip(their_frontends) {
        assert_eq!(
            nodes[f.node()].name,
            strings(&t["nodelist"])[0],
            "{name}: {}'s node",
            f.name
        );
        let same = flags(&argv(&f.command)) == flags(&strings(&t["argv"]));
        assert!(same, "{name}: {}'s command", f.name);
        assert_eq!(
            our_env(&f.command),
            their_env(t),
            "{name}: {}'s environment",
            f.name
        );
    }
    let h = &o["health"];
    assert_eq!(
        d.ready,
        Ready::DynamoInstances {
            prefill: h["prefill"].as_u64().unwrap() as u32,
            decode: h["decode"].as_u64().unwrap() as u32,
        },
        "{name}: instances waited for"
    );
    // TensorRT-LLM's settings: the same YAML document.
    for w in &d.workers {
        for f in &w.command.files {
            let mode = if w.name.starts_with("prefill") {
                "prefill"
            } else {
                "decode"
            };
            let theirs = o["files"][format!("trtllm_config_{mode}.yaml")]
                .as_str()
                .unwrap();
            let a: serde_norway::Value = serde_norway::from_str(&f.contents).unwrap();
            let b: serde_norway::Value = serde_norway::from_str(theirs).unwrap();
            assert_eq!(a, b, "{name}: {}", f.name);
        }
    }
}

#[test]
fn sglang_disaggregated_workers_match_srt_slurm() {
    let name = "sglang-dsr1-fp4-gb200-low-latency";
    let j = job(
        "dynamo-sglang",
        &format!("recipes/{name}.yaml"),
        (1, 4, 1, false),
        (4, 4, 1, false),
    );
    let d = render(&j);
    assert_eq!(d.nodes_wanted, 5);
    // Everything on node00 but the decode workers, one per tray.
    assert_eq!(d.infra.iter().map(|p| p.node()).collect::<Vec<_>>(), [0, 0]);
    assert_eq!(d.router.node(), 0);
    check(name, &d);
}

#[test]
fn an_sglang_worker_over_eight_nodes_matches_srt_slurm() {
    let name = "sglang-dsr1-fp4-gb200-max-tpt";
    let j = job(
        "dynamo-sglang",
        &format!("recipes/{name}.yaml"),
        (10, 4, 1, false),
        (1, 32, 32, true),
    );
    let d = render(&j);
    assert_eq!(d.nodes_wanted, 18);
    check(name, &d);
}

#[test]
fn vllm_data_parallel_workers_match_srt_slurm() {
    let name = "vllm-dsv4-fp4-gb200-mid-curve-megamoe";
    let j = job(
        "dynamo-vllm",
        &format!("recipes/{name}.yaml"),
        (1, 1, 8, true),
        (1, 1, 8, true),
    );
    let d = render(&j);
    // A dedicated node for etcd and NATS, then two trays per worker.
    assert_eq!(d.nodes_wanted, 5);
    assert_eq!(d.router.node(), 1);
    check(name, &d);
}

#[test]
fn trtllm_mpi_workers_match_srt_slurm() {
    let name = "trtllm-dsr1-fp4-gb200-ctx1-gen4-tep8-mtp3";
    let j = job(
        "dynamo-trt",
        &format!("recipes/{name}.yaml"),
        (1, 4, 4, true),
        (4, 8, 8, false),
    );
    let d = render(&j);
    check(name, &d);
}

/// A recipe written into a fresh recipes folder, and a row naming it.
fn with_recipe(
    text: &str,
    prefill: (u32, u32, u32, bool),
    decode: (u32, u32, u32, bool),
) -> (tempfile::TempDir, Job) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.yaml"), text).unwrap();
    (dir, job("dynamo-sglang", "recipes/r.yaml", prefill, decode))
}

fn refusal(text: &str) -> String {
    let (dir, j) = with_recipe(text, (1, 4, 1, false), (1, 4, 1, false));
    nodes_needed(&j, Engines::Recipe, &srt(&[dir.path().to_path_buf()])).unwrap_err()
}

const SMALL: &str = "name: small
resources: {gpu_type: gb200, gpus_per_node: 4, prefill_nodes: 1, prefill_workers: 1, decode_nodes: 1, decode_workers: 1}
backend: {type: sglang, sglang_config: {prefill: {tensor-parallel-size: 4}, decode: {tensor-parallel-size: 4}}}
";

#[test]
fn what_servebench_does_not_launch_is_refused_with_the_reason() {
    // The recipe as it is runs: two nodes, no dedicated infra node.
    let (dir, j) = with_recipe(SMALL, (1, 4, 1, false), (1, 4, 1, false));
    assert_eq!(
        nodes_needed(&j, Engines::Recipe, &srt(&[dir.path().to_path_buf()])),
        Ok(2)
    );
    // The simulated engine needs no recipe: the nodes its workers fill.
    assert_eq!(nodes_needed(&j, Engines::Sim, &srt(&[])), Ok(2));
    for (extra, expected) in [
        ("base: other.yaml\n", "`base` is not a mapping"),
        (
            "setup_script: ../../etc/x.sh\n",
            "setup_script '../../etc/x.sh': expected the name of a script",
        ),
        (
            "zip_override_lowlat: {}\n",
            "holds the variant 'zip_override_lowlat' but no `base`",
        ),
        (
            "frontend: {type: sglang}\n",
            "frontend.type sglang: servebench launches Dynamo's frontend",
        ),
    ] {
        let e = refusal(&format!("{SMALL}{extra}"));
        assert!(
            e.starts_with("row: ") && e.contains("r.yaml: ") && e.contains(expected),
            "{e}"
        );
    }
    let e = refusal(&SMALL.replace("type: sglang,", "type: sglang, mooncake_kv_store: {},"));
    assert!(
        e.contains("backend.mooncake_kv_store is not launched"),
        "{e}"
    );
    // A key of the wrong type names the file, line and key.
    let e = refusal(&SMALL.replace("gpus_per_node: 4", "gpus_per_node: four"));
    assert!(
        e.contains("r.yaml:2:") && e.contains("resources.gpus_per_node"),
        "{e}"
    );
    // The recipe's pools against the row's.
    let (dir, j) = with_recipe(SMALL, (2, 4, 1, false), (1, 4, 1, false));
    let e = nodes_needed(&j, Engines::Recipe, &srt(&[dir.path().to_path_buf()])).unwrap_err();
    assert!(
        e.contains(
            "has 1 prefill workers of 4 GPUs, but the row row says 2 prefill workers of 4 GPUs"
        ),
        "{e}"
    );
}

#[test]
fn a_rows_recipe_is_found_only_inside_the_folders_given() {
    let (dir, j) = with_recipe(SMALL, (1, 4, 1, false), (1, 4, 1, false));
    let e = nodes_needed(&j, Engines::Recipe, &srt(&[])).unwrap_err();
    assert!(
        e.contains(
            "CONFIG_FILE=recipes/r.yaml: no recipes folder given: pass your srt-slurm checkout"
        ),
        "{e}"
    );
    let empty = tempfile::tempdir().unwrap();
    let e = nodes_needed(&j, Engines::Recipe, &srt(&[empty.path().to_path_buf()])).unwrap_err();
    assert!(e.contains("not found under"), "{e}");
    // As an srt-slurm checkout (recipes/…) too, and the first folder that has it wins.
    let checkout = tempfile::tempdir().unwrap();
    std::fs::create_dir(checkout.path().join("recipes")).unwrap();
    std::fs::copy(
        dir.path().join("r.yaml"),
        checkout.path().join("recipes/r.yaml"),
    )
    .unwrap();
    assert_eq!(
        nodes_needed(
            &j,
            Engines::Recipe,
            &srt(&[empty.path().into(), checkout.path().into()])
        ),
        Ok(2)
    );
    // A row cannot point outside the folders, nor at a variant of a plain recipe.
    for (name, expected) in [
        (
            "../r.yaml",
            "is not a relative path inside a recipes folder",
        ),
        (
            "/etc/passwd",
            "is not a relative path inside a recipes folder",
        ),
        (
            "recipes/r.yaml:override_tp4",
            "names the variant 'override_tp4', but the recipe has no `base` to vary",
        ),
    ] {
        let j = job("dynamo-sglang", name, (1, 4, 1, false), (1, 4, 1, false));
        let e = nodes_needed(&j, Engines::Recipe, &srt(&[dir.path().into()])).unwrap_err();
        assert!(e.contains(expected), "{name}: {e}");
    }
}

#[test]
fn a_recipe_needing_more_nodes_than_the_allocation_has_fails_before_starting() {
    let (dir, j) = with_recipe(SMALL, (1, 4, 1, false), (1, 4, 1, false));
    let l = launch(vec![dir.path().into()]);
    let e = deployment(&j, &l, &nodes(1), || unreachable!()).unwrap_err();
    assert!(
        e.contains("needs 2 nodes of 4 GPUs (its workers), the allocation has 1"),
        "{e}"
    );
    // Two nodes: one frontend on the head node (a frontend per further node, behind nginx).
    let d = deployment(&j, &l, &nodes(2), || unreachable!()).unwrap();
    assert_eq!(d.router.command.program, "nginx");
    assert_eq!(
        d.frontends.iter().map(|f| f.node()).collect::<Vec<_>>(),
        [1]
    );
    let one = SMALL.to_string() + "frontend: {enable_multiple_frontends: false}\n";
    std::fs::write(dir.path().join("r.yaml"), one).unwrap();
    let d = deployment(&j, &l, &nodes(2), || unreachable!()).unwrap();
    assert!(d.frontends.is_empty());
    assert_eq!(d.router.command.args[..2], ["-m", "dynamo.frontend"]);
}

/// A file of variants (srt-slurm's `base` and `override_*` / `zip_override_*`): the row's
/// `CONFIG_FILE=<file>:<variant>` picks one, merged over the base.
#[test]
fn a_row_names_one_variant_of_a_recipe_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "base:\n{}override_tp8:\n  resources: {{gpus_per_decode: 8, decode_nodes: 2}}\n  backend: {{sglang_config: {{decode: {{tensor-parallel-size: 8}}}}}}\nzip_override_wide:\n  resources: {{decode_workers: [2, 3], decode_nodes: [2, 3]}}\n",
        SMALL.lines().map(|l| format!("  {l}\n")).collect::<String>()
    );
    std::fs::write(dir.path().join("v.yaml"), text).unwrap();
    let dirs = [dir.path().to_path_buf()];
    for (variant, decode, nodes) in [
        // One prefill node, one decode worker of 8 GPUs over two 4-GPU nodes.
        ("override_tp8", (1, 8, 1, false), 3),
        ("zip_override_wide[1]", (3, 4, 1, false), 4),
        ("base", (1, 4, 1, false), 2),
    ] {
        let name = format!("recipes/v.yaml:{variant}");
        let j = job("dynamo-sglang", &name, (1, 4, 1, false), decode);
        assert_eq!(
            nodes_needed(&j, Engines::Recipe, &srt(&dirs)),
            Ok(nodes),
            "{variant}"
        );
    }
    let j = job(
        "dynamo-sglang",
        "recipes/v.yaml",
        (1, 4, 1, false),
        (1, 4, 1, false),
    );
    let e = nodes_needed(&j, Engines::Recipe, &srt(&dirs)).unwrap_err();
    assert!(
        e.contains(
            "holds a base recipe and its variants (override_tp8, zip_override_wide[i]): name one"
        ),
        "{e}"
    );
}

/// A recipe's setup script (srt-slurm's `configs/<script>`) runs first in every worker and
/// Dynamo frontend process, from the `--srt-recipes` folder that has it.
#[test]
fn a_recipes_setup_script_runs_before_each_worker_and_frontend() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("configs/patches")).unwrap();
    std::fs::write(dir.path().join("configs/patches/deps.sh"), "echo deps\n").unwrap();
    let text =
        format!("{SMALL}setup_script: deps.sh\nfrontend: {{enable_multiple_frontends: false}}\n");
    std::fs::write(dir.path().join("r.yaml"), text).unwrap();
    let j = job(
        "dynamo-sglang",
        "recipes/r.yaml",
        (1, 4, 1, false),
        (1, 4, 1, false),
    );
    let l = launch(vec![dir.path().into()]);
    let d = deployment(&j, &l, &nodes(2), || unreachable!()).unwrap();
    let script = dir
        .path()
        .join("configs/patches/deps.sh")
        .display()
        .to_string();
    for p in d.workers.iter().chain([&d.router]) {
        let c = &p.command;
        assert_eq!(c.program, "bash", "{}", p.name);
        assert_eq!(
            c.args[..5],
            ["-c", r#"bash "$0" && exec "$@""#, &script, "python3", "-m"],
            "{}",
            p.name
        );
    }
    assert_eq!(d.mounts, [dir.path().join("configs/patches")]);
    // Etcd and NATS are not the engines': they run as they are.
    assert!(d.infra.iter().all(|p| !p.command.args.contains(&script)));
    std::fs::remove_file(dir.path().join("configs/patches/deps.sh")).unwrap();
    let e = deployment(&j, &l, &nodes(2), || unreachable!()).unwrap_err();
    assert!(
        e.contains("setup_script deps.sh: not in the configs folder of any --srt-recipes folder"),
        "{e}"
    );
}

/// The ports each process of `d` binds on its node, as ranges: its own, and those its engine
/// derives from them (SGLang binds up to dp + 5 above its `--dist-init-addr` port on the
/// leader, vLLM's NIXL connector one side-channel port per local rank).
fn bound_ports(d: &ClusterDeployment) -> Vec<(usize, std::ops::RangeInclusive<u32>, String)> {
    let mut out = Vec::new();
    for p in d
        .infra
        .iter()
        .chain(&d.workers)
        .chain(&d.frontends)
        .chain([&d.router])
    {
        let (args, env) = (&p.command.args, &p.command.env);
        let arg = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        let var = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let num = |s: Option<String>| s.and_then(|v| v.rsplit(':').next()?.parse::<u32>().ok());
        let local = num(arg("--data-parallel-size-local")).unwrap_or(1);
        let dp = num(arg("--dp-size").or(arg("--data-parallel-size"))).unwrap_or(1);
        let mut add = |port: Option<u32>, above: u32, what: &str| {
            if let Some(port) = port.filter(|&p| p != 0) {
                out.push((p.node(), port..=port + above, format!("{} {what}", p.name)));
            }
        };
        add(num(arg("--port")), 0, "--port");
        add(num(arg("--disaggregation-bootstrap-port")), 0, "bootstrap");
        add(num(var("DYN_SYSTEM_PORT")), 0, "DYN_SYSTEM_PORT");
        add(
            num(var("VLLM_NIXL_SIDE_CHANNEL_PORT")),
            local - 1,
            "NIXL side channel",
        );
        let rank0 = arg("--node-rank").is_none_or(|r| r == "0");
        add(
            num(arg("--dist-init-addr")).filter(|_| rank0),
            dp + 5,
            "dist-init",
        );
        let http = args.iter().find_map(|a| a.strip_prefix("--http-port="));
        add(http.and_then(|h| h.parse().ok()), 0, "--http-port");
    }
    out
}

/// No two processes of a node bind the same port, counting the ranges engines derive.
fn assert_ports_apart(d: &ClusterDeployment, name: &str) {
    let ports = bound_ports(d);
    for (i, (n, a, who)) in ports.iter().enumerate() {
        for (m, b, other) in &ports[i + 1..] {
            let overlap = a.start() <= b.end() && b.start() <= a.end();
            assert!(
                !(n == m && overlap),
                "{name}: node {n}: {who} {a:?} and {other} {b:?}"
            );
        }
    }
}

#[test]
fn processes_on_one_node_never_share_a_port() {
    for (name, framework, prefill, decode) in [
        (
            "sglang-dsr1-fp4-gb200-low-latency",
            "dynamo-sglang",
            (1, 4, 1, false),
            (4, 4, 1, false),
        ),
        (
            "sglang-dsr1-fp4-gb200-max-tpt",
            "dynamo-sglang",
            (10, 4, 1, false),
            (1, 32, 32, true),
        ),
        (
            "vllm-dsv4-fp4-gb200-mid-curve-megamoe",
            "dynamo-vllm",
            (1, 1, 8, true),
            (1, 1, 8, true),
        ),
        (
            "trtllm-dsr1-fp4-gb200-ctx1-gen4-tep8-mtp3",
            "dynamo-trt",
            (1, 4, 4, true),
            (4, 8, 8, false),
        ),
    ] {
        let d = render(&job(
            framework,
            &format!("recipes/{name}.yaml"),
            prefill,
            decode,
        ));
        assert!(
            bound_ports(&d).len() > d.workers.len(),
            "{name}: ports found"
        );
        assert_ports_apart(&d, name);
    }
}

/// Layouts srt-slurm's recipes allow beyond the four rendered by it, by hand: a worker of 12
/// GPUs takes two whole 8-GPU nodes; vLLM workers sharing a node get their own GPUs per rank;
/// a data-parallel replica larger than a node is refused; keys written with underscores are
/// the flags they name.
#[test]
fn uneven_and_shared_layouts_stay_inside_their_own_gpus_and_nodes() {
    let recipe = |text: &str| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("r.yaml"), text).unwrap();
        dir
    };
    // Three workers of 12 GPUs: two nodes each, six in all, none shared.
    let dir = recipe("name: u\nresources: {gpu_type: h200, gpus_per_node: 8, agg_nodes: 4, agg_workers: 3, gpus_per_agg: 12}\nbackend: {type: sglang}\n");
    let j = job(
        "dynamo-sglang",
        "recipes/r.yaml",
        (3, 12, 1, false),
        (0, 12, 1, false),
    );
    let l = launch(vec![dir.path().into()]);
    assert_eq!(nodes_needed(&j, Engines::Recipe, &l.recipes), Ok(6));
    let d = deployment(&j, &l, &nodes(6), || unreachable!()).unwrap();
    let on: Vec<Vec<usize>> = ["aggregated-0", "aggregated-1", "aggregated-2"]
        .iter()
        .map(|w| {
            d.workers
                .iter()
                .filter(|p| p.name.starts_with(w))
                .map(|p| p.node())
                .collect()
        })
        .collect();
    assert_eq!(on, [vec![0, 1], vec![2, 3], vec![4, 5]]);
    assert_ports_apart(&d, "12-GPU workers");
    // Two vLLM workers of 4 GPUs on one 8-GPU node, a process per GPU.
    let dir = recipe("name: v\nresources: {gpu_type: h200, gpus_per_node: 8, agg_nodes: 1, agg_workers: 2, gpus_per_agg: 4}\nbackend: {type: vllm, dp_launch_mode: per_gpu, vllm_config: {aggregated: {data_parallel_size: 4, served_model_name: short}}}\n");
    let j = job(
        "dynamo-vllm",
        "recipes/r.yaml",
        (2, 4, 1, false),
        (0, 4, 1, false),
    );
    let l = launch(vec![dir.path().into()]);
    let d = deployment(&j, &l, &nodes(1), || unreachable!()).unwrap();
    let gpus: Vec<String> = d
        .workers
        .iter()
        .map(|p| {
            p.command
                .env
                .iter()
                .find(|(k, _)| k == "CUDA_VISIBLE_DEVICES")
                .unwrap()
                .1
                .clone()
        })
        .collect();
    assert_eq!(gpus, ["0", "1", "2", "3", "4", "5", "6", "7"]);
    assert_eq!(d.served_model.as_deref(), Some("short"));
    for p in &d.workers {
        assert_no_flag_twice(&argv(&p.command), &p.name);
        let a = &p.command.args;
        let i = a.iter().position(|x| x == "--served-model-name").unwrap();
        assert_eq!(a[i + 1], "short");
    }
    assert_ports_apart(&d, "vLLM per GPU");
    // A data-parallel replica of 16 GPUs over 8-GPU nodes.
    let dir = recipe("name: w\nresources: {gpu_type: h200, gpus_per_node: 8, agg_nodes: 4, agg_workers: 1, gpus_per_agg: 32}\nbackend: {type: vllm, vllm_config: {aggregated: {data-parallel-size: 2, tensor-parallel-size: 16}}}\n");
    let j = job(
        "dynamo-vllm",
        "recipes/r.yaml",
        (1, 32, 1, false),
        (0, 32, 1, false),
    );
    let l = launch(vec![dir.path().into()]);
    let e = deployment(&j, &l, &nodes(4), || unreachable!()).unwrap_err();
    assert!(
        e.contains("data-parallel replicas of 16 GPUs spread over nodes are not laid out"),
        "{e}"
    );
}

#[test]
fn settings_the_launcher_owns_are_refused_when_they_disagree() {
    for (extra, says) in [
        ("frontend: {args: {http-port: 9999}}\n", "frontend.args.http-port: the frontends' ports are the launcher's"),
        ("dynamo: {request_plane: nats}\nbackend: {type: sglang, sglang_config: {prefill: {request_plane: tcp}}}\n", "prefill settings set request-plane tcp, but the deployment's (dynamo.request_plane) is nats"),
    ] {
        let text = SMALL.replace("backend: {type: sglang, sglang_config: {prefill: {tensor-parallel-size: 4}, decode: {tensor-parallel-size: 4}}}\n", "") + extra;
        let (dir, j) = with_recipe(&text, (1, 4, 1, false), (1, 4, 1, false));
        let l = launch(vec![dir.path().into()]);
        let e = nodes_needed(&j, Engines::Recipe, &l.recipes)
            .and_then(|_| deployment(&j, &l, &nodes(2), || unreachable!()).map(|_| 0))
            .unwrap_err();
        assert!(e.contains(says), "{e}");
    }
}

/// An agentic-coding row of `framework` naming `recipe`: one pool of workers each side.
fn agentic_job(framework: &str, recipe: &str, prefill: (u32, u32), decode: (u32, u32)) -> Job {
    let pool = |(n, tp): (u32, u32), settings: &str| {
        format!("          num-worker: {n}\n          tp: {tp}\n          ep: 1\n          dp-attn: false\n{settings}")
    };
    let settings =
        format!("          additional-settings:\n          - \"CONFIG_FILE={recipe}\"\n");
    let text = format!(
        "row:\n  image: img\n  model: deepseek-ai/DeepSeek-R1-0528\n  model-prefix: dsr1\n  runner: cluster:gb200-nv\n  precision: fp4\n  framework: {framework}\n  multinode: true\n  disagg: true\n  kv-p2p-transfer: nixl\n  router: {{ name: dynamo-router, version: \"0.8.1\" }}\n  scenarios:\n    agentic-coding:\n    - search-space:\n      - conc-list: [16]\n        kv-offloading: none\n        prefill:\n{}        decode:\n{}",
        pool(prefill, &settings),
        pool(decode, "")
    );
    ix::plan_row(&text)
}

/// The low-latency recipe as an agentic one: nginx keeps a session on one frontend by
/// `X-Correlation-ID` with a longer keepalive, and its benchmark is InferenceX's agentic replay.
fn agentic_recipe(extra_env: &str) -> String {
    let text =
        std::fs::read_to_string(fixtures().join("sglang-dsr1-fp4-gb200-low-latency.yaml")).unwrap();
    let (head, _) = text.split_once("\nbenchmark:").unwrap();
    head.replace(
        "  nginx_container: nginx-sqsh\n",
        "  nginx_container: nginx-sqsh\n  nginx_session_affinity: true\n  nginx_session_affinity_header: X-Correlation-ID\n  nginx_keepalive_timeout: 900s\n",
    ) + &format!(
        "\nbenchmark:\n  type: custom\n  command: bash /infmax-workspace/benchmarks/multi_node/agentic_srt.sh\n  env:\n    PORT: \"8000\"\n    AIPERF_HTTP_X_DYNAMO_SESSION_ID_FROM_CORRELATION_ID: \"true\"\n{extra_env}"
    )
}

fn nginx_conf(d: &ClusterDeployment) -> String {
    d.router.command.files[0].contents.clone()
}

#[test]
fn an_agentic_row_runs_its_recipes_workers_and_the_replay_keeps_sessions_together() {
    let dir = tempfile::tempdir().unwrap();
    let text = agentic_recipe("    AIPERF_MAX_CONTEXT_LENGTH: \"131072\"\n");
    std::fs::write(dir.path().join("agentic.yaml"), text).unwrap();
    let l = launch(vec![dir.path().to_path_buf(), fixtures()]);
    let j = agentic_job("dynamo-sglang", "recipes/agentic.yaml", (1, 4), (4, 4));
    let n = nodes_needed(&j, Engines::Recipe, &l.recipes).unwrap();
    let port = || -> std::io::Result<u16> { unreachable!("real deployments pick their own ports") };
    let agentic = deployment(&j, &l, &nodes(n), port).unwrap();
    // The same processes as the fixed-length row of the recipe srt-slurm rendered, but nginx.
    let fixed = render(&job(
        "dynamo-sglang",
        "recipes/sglang-dsr1-fp4-gb200-low-latency.yaml",
        (1, 4, 1, false),
        (4, 4, 1, false),
    ));
    assert_eq!(agentic.workers, fixed.workers);
    assert_eq!(agentic.frontends, fixed.frontends);
    assert_eq!(agentic.infra, fixed.infra);
    // srt-slurm's nginx.conf.j2 with affinity: the header's variable ($http_ + lower case,
    // '-' → '_') is the hash key, a request without it hashed by its own id.
    let conf = nginx_conf(&agentic);
    for line in [
        "map $http_x_correlation_id $frontend_hash_key {",
        "default $http_x_correlation_id;",
        "\"\" $request_id;",
        "hash $frontend_hash_key consistent;",
    ] {
        assert!(conf.contains(line), "{line} not in\n{conf}");
    }
    assert_eq!(conf.matches("keepalive_timeout 900s;").count(), 2, "{conf}");
    let plain = nginx_conf(&fixed);
    assert!(
        !plain.contains("hash ") && !plain.contains("map "),
        "{plain}"
    );
    assert_eq!(plain.matches("keepalive_timeout 600s;").count(), 2);
    // AIPerf's correlation id (nginx's key here), Dynamo's session header where the benchmark
    // switches it on, and the recipe's context limit.
    let ClientSettings {
        session_headers,
        max_context,
        metrics_urls,
        gauge_urls,
    } = &agentic.client;
    assert_eq!(
        session_headers,
        &["X-Correlation-ID", "X-Dynamo-Session-ID"]
    );
    assert_eq!(*max_context, Some(131_072));
    assert_eq!(fixed.client.max_context, None);
    // The replay reads each worker's engine metrics from its Dynamo system server: the prefill
    // worker's on node00 (its cache counters and KV use), a decode worker's on each tray after
    // it (its KV use only: its prompts' KV comes from the prefill worker).
    let host = |u: &String| {
        u.strip_prefix("http://")
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        metrics_urls.iter().map(host).collect::<Vec<_>>(),
        ["10.0.0.0"]
    );
    let mut hosts: Vec<String> = gauge_urls.iter().map(host).collect();
    hosts.sort();
    assert_eq!(hosts, ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]);
    for (u, w) in metrics_urls.iter().chain(gauge_urls).zip(&agentic.workers) {
        let port = &w
            .command
            .env
            .iter()
            .find(|(k, _)| k == "DYN_SYSTEM_PORT")
            .unwrap()
            .1;
        assert!(u.ends_with(&format!(":{port}")), "{u} vs {port}");
    }
}

#[test]
fn agentic_recipe_settings_servebench_cannot_honour_are_refused() {
    for (edit, expected) in [
        (
            ("X-Correlation-ID\n", "X Correlation\n"),
            "frontend.nginx_session_affinity_header 'X Correlation': expected a header name",
        ),
        (
            ("900s", "ten minutes"),
            "frontend.nginx_keepalive_timeout 'ten minutes': expected an nginx time",
        ),
        (
            (
                "  nginx_container:",
                "  dedicated_node: true\n  nginx_container:",
            ),
            "frontend.dedicated_node is not launched by servebench",
        ),
        (
            (
                "  nginx_container:",
                "  nginx_cache: on\n  nginx_container:",
            ),
            "unknown field `nginx_cache`",
        ),
    ] {
        let (dir, j) = with_recipe(
            &agentic_recipe("").replace(edit.0, edit.1),
            (1, 4, 1, false),
            (4, 4, 1, false),
        );
        let e = nodes_needed(&j, Engines::Recipe, &srt(&[dir.path().to_path_buf()]))
            .err()
            .unwrap_or_else(|| {
                let l = launch(vec![dir.path().to_path_buf()]);
                deployment(&j, &l, &nodes(5), || unreachable!()).unwrap_err()
            });
        assert!(e.contains(expected), "{e}");
    }
    let (dir, j) = with_recipe(
        &agentic_recipe("    AIPERF_MAX_CONTEXT_LENGTH: lots\n"),
        (1, 4, 1, false),
        (4, 4, 1, false),
    );
    let l = launch(vec![dir.path().to_path_buf()]);
    let e = deployment(&j, &l, &nodes(5), || unreachable!()).unwrap_err();
    assert!(
        e.contains("AIPERF_MAX_CONTEXT_LENGTH 'lots': expected a positive integer"),
        "{e}"
    );
    // Launchers with no agentic path servebench reproduces refuse the row, with the reason.
    let atom = agentic_job("atom-disagg", "recipes/x.yaml", (1, 8), (1, 8));
    let e = deployment(&atom, &launch(vec![]), &nodes(2), || unreachable!()).unwrap_err();
    assert!(
        e.contains("runs on the simulated engine only")
            && e.contains("srt-slurm recipes and its AMD SGLang launcher only"),
        "{e}"
    );
}
