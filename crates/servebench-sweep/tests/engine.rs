//! Golden engine commands: what each adapter runs for a job.

use servebench_sweep::engine::{server_command, Engines, Launch};
use servebench_sweep::plan::{plan, PlanOptions};
use servebench_sweep::{load_recipes, Recipes};

fn recipes(framework: &str, extra: &str, entry: &str) -> Recipes {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("r.yaml");
    std::fs::write(
        &p,
        format!(
            "r:
  image: img
  model: meta-llama/Llama-3.3-70B-Instruct
  model-prefix: llama
  precision: fp8
  framework: {framework}
  runner: h200
  multinode: false
{extra}  scenarios:
    fixed-seq-len:
    - isl: 1024
      osl: 1024
      search-space:
      - {entry}
"
        ),
    )
    .unwrap();
    load_recipes(&[p]).unwrap()
}

/// Where a test's server would listen, and what runs `sim`.
fn launch(engines: Engines, port: u16, servebench: &str) -> Launch {
    Launch {
        engines,
        host: "127.0.0.1".into(),
        port,
        servebench: servebench.into(),
        tokenizer: "cl100k_base".into(),
        sim_time_scale: None,
        recipes: Default::default(),
    }
}

fn line(framework: &str, extra: &str, entry: &str) -> Result<String, String> {
    let r = recipes(framework, extra, entry);
    let jobs = plan(&r, &Default::default(), &PlanOptions::default()).unwrap();
    let launch = launch(Engines::Recipe, 8123, "/usr/bin/servebench");
    server_command(&jobs[0], r.get("r").unwrap(), &launch).map(|c| c.shell_line())
}

#[test]
fn vllm() {
    assert_eq!(
        line("vllm", "", "{tp: 8, conc-list: [4]}").unwrap(),
        "vllm serve meta-llama/Llama-3.3-70B-Instruct --host 127.0.0.1 --port 8123 --tensor-parallel-size 8 --max-model-len 2304"
    );
    assert_eq!(
        line(
            "vllm",
            "  engine-args: [--kv-cache-dtype, fp8]\n  env: {VLLM_USE_V1: \"1\"}\n",
            "{tp: 8, ep: 8, dp-attn: true, conc-list: [4]}"
        )
        .unwrap(),
        "VLLM_USE_V1=1 vllm serve meta-llama/Llama-3.3-70B-Instruct --host 127.0.0.1 --port 8123 --data-parallel-size 8 --tensor-parallel-size 1 --enable-expert-parallel --max-model-len 2304 --kv-cache-dtype fp8"
    );
}

#[test]
fn sglang() {
    assert_eq!(
        line("sglang", "", "{tp: 8, ep: 8, dp-attn: true, conc-list: [4]}").unwrap(),
        "python3 -m sglang.launch_server --model-path meta-llama/Llama-3.3-70B-Instruct --host 127.0.0.1 --port 8123 --tp-size 8 --ep-size 8 --enable-dp-attention --dp-size 8 --context-length 2304"
    );
    // MTP with no known launch script: the recipe's own speculative arguments, else refused.
    let mtp = "{tp: 8, spec-decoding: mtp, conc-list: [4]}";
    let e = line("sglang", "", mtp).unwrap_err();
    assert!(
        e.contains("spec-decoding mtp without a draft length"),
        "{e}"
    );
    assert!(line(
        "sglang",
        "  engine-args: [--speculative-algorithm, EAGLE, --speculative-num-steps, \"1\"]\n",
        mtp
    )
    .unwrap()
    .ends_with("--context-length 2304 --speculative-algorithm EAGLE --speculative-num-steps 1"));
}

/// Speculative decoding as InferenceX's launch scripts run it, per shipped config key.
#[test]
fn mtp_rows_run_at_their_launch_scripts_draft_length() {
    use servebench_sweep::{load_recipe_texts, INFERENCEX_TODAY};
    let texts: Vec<(std::path::PathBuf, String)> = INFERENCEX_TODAY
        .iter()
        .map(|(n, t)| (n.into(), t.to_string()))
        .collect();
    let r = load_recipe_texts(&texts).unwrap();
    let cmd = |key: &str, engines: Engines, conc: u32| {
        let opts = PlanOptions {
            config_keys: vec![key.into()],
            multi_node: false,
            agentic: false,
            ..PlanOptions::default()
        };
        let jobs = plan(&r, &Default::default(), &opts).unwrap();
        let job = jobs.iter().find(|j| j.conc.contains(&conc)).unwrap();
        server_command(
            job,
            r.get(key).unwrap(),
            &launch(engines, 8123, "servebench"),
        )
        .map(|c| c.shell_line())
    };
    // dsr1_fp4_b200_mtp.sh: SPECULATIVE_NUM_STEPS=2, SPECULATIVE_DRAFT_TOKENS=3, TOPK=1.
    let c = cmd("dsr1-fp4-b200-sglang-mtp", Engines::Recipe, 4).unwrap();
    assert!(
        c.contains("--speculative-algorithm EAGLE --speculative-num-steps 2 --speculative-eagle-topk 1 --speculative-num-draft-tokens 3"),
        "{c}"
    );
    // dsv4_fp4_b200_vllm_mtp.sh: num_speculative_tokens 2.
    let c = cmd("dsv4-fp4-b200-vllm-mtp", Engines::Recipe, 4).unwrap();
    assert!(
        c.contains(r#"--speculative-config '{"method":"mtp","num_speculative_tokens":2}'"#),
        "{c}"
    );
    // The simulated engine speculates the same way, at DeepSeek-R1's acceptance for 2 drafts.
    let c = cmd("dsr1-fp4-b200-sglang-mtp", Engines::Sim, 4).unwrap();
    assert!(c.contains("--spec-decode 2:2.58"), "{c}");
    // TensorRT-LLM takes MTP in its options file: dsr1_fp4_b200_trt_mtp.sh writes
    // `num_nextn_predict_layers: 3`, and 1 with attention DP.
    let c = cmd("dsr1-fp4-b200-trt-mtp", Engines::Recipe, 4).unwrap();
    assert!(
        c.ends_with("--extra_llm_api_options dsr1-fp4-b200-trt-mtp.extra-llm-api-options.yaml"),
        "{c}"
    );
    let opts = PlanOptions {
        config_keys: vec!["dsr1-fp4-b200-trt-mtp".into()],
        multi_node: false,
        agentic: false,
        ..PlanOptions::default()
    };
    let jobs = plan(&r, &Default::default(), &opts).unwrap();
    let dp = jobs
        .iter()
        .find(|j| {
            matches!(
                j.topology,
                servebench_sweep::plan::Topology::Single {
                    dp_attn: true,
                    tp: 8,
                    ..
                }
            )
        })
        .unwrap();
    let launch = launch(Engines::Recipe, 8123, "servebench");
    let c = server_command(dp, r.get("dsr1-fp4-b200-trt-mtp").unwrap(), &launch).unwrap();
    assert_eq!(
        c.files[0].contents,
        "enable_attention_dp: true\nspeculative_config:\n  decoding_type: MTP\n  num_nextn_predict_layers: 1\n"
    );
}

#[test]
fn trt() {
    assert_eq!(
        line("trt", "", "{tp: 4, pp: 2, conc-list: [4]}").unwrap(),
        "trtllm-serve meta-llama/Llama-3.3-70B-Instruct --host 127.0.0.1 --port 8123 --tp_size 4 --ep_size 1 --pp_size 2 --max_seq_len 2304"
    );
    // Attention DP in the LLM-API options file, written beside the logs before the start.
    let r = recipes("trt", "", "{tp: 4, ep: 4, dp-attn: true, conc-list: [4]}");
    let jobs = plan(&r, &Default::default(), &PlanOptions::default()).unwrap();
    let launch = launch(Engines::Recipe, 8123, "servebench");
    let mut c = server_command(&jobs[0], r.get("r").unwrap(), &launch).unwrap();
    let dir = tempfile::tempdir().unwrap();
    c.place_files(dir.path()).unwrap();
    let file = dir.path().join("r.extra-llm-api-options.yaml");
    assert_eq!(
        c.shell_line(),
        format!("trtllm-serve meta-llama/Llama-3.3-70B-Instruct --host 127.0.0.1 --port 8123 --tp_size 4 --ep_size 4 --max_seq_len 2304 --extra_llm_api_options {}", file.display())
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "enable_attention_dp: true\n"
    );
}

#[test]
fn sim() {
    assert_eq!(
        line("sim", "  engine-args: [--time-scale, \"10\"]\n", "{tp: 4, conc-list: [4]}").unwrap(),
        "/usr/bin/servebench sim --host 127.0.0.1 --port 8123 --gpu h200 --model llama-3.3-70b --precision fp8 --tp 4 --served-model-name meta-llama/Llama-3.3-70B-Instruct --tokenizer cl100k_base --max-model-len 2304 --time-scale 10"
    );
}

#[test]
fn what_has_no_local_adapter_says_so() {
    let e = line("atom", "", "{tp: 8, conc-list: [4]}").unwrap_err();
    assert_eq!(
        e,
        "r: framework 'atom' has no local engine adapter (vllm, sglang, trt, llamacpp, sim)"
    );
    let r = recipes("sim", "", "{tp: 8, conc-list: [4]}");
    let mut jobs = plan(&r, &Default::default(), &PlanOptions::default()).unwrap();
    jobs[0].model = "org/unknown-model".into();
    let launch = launch(Engines::Recipe, 1, "servebench");
    let e = server_command(&jobs[0], r.get("r").unwrap(), &launch).unwrap_err();
    assert!(
        e.contains("model 'org/unknown-model' is not in the simulator's catalog"),
        "{e}"
    );
}

#[test]
fn the_simulated_engine_stands_in_for_a_recipes_framework() {
    let r = recipes(
        "dynamo-sglang",
        "  engine-args: [--mem-fraction-static, \"0.8\"]\n",
        "{tp: 8, ep: 8, dp-attn: true, conc-list: [4]}",
    );
    let mut jobs = plan(&r, &Default::default(), &PlanOptions::default()).unwrap();
    // An alias of DeepSeek-R1 (its quantised checkpoint), and a pool label for the runner.
    jobs[0].model = "nvidia/DeepSeek-R1-0528-FP4-V2".into();
    jobs[0].runner = "b200-multinode".into();
    let launch = launch(Engines::Sim, 9, "servebench");
    let c = server_command(&jobs[0], r.get("r").unwrap(), &launch).unwrap();
    assert_eq!(
        c.shell_line(),
        "servebench sim --host 127.0.0.1 --port 9 --gpu b200 --model deepseek-r1-0528 --precision fp8 --tp 8 --served-model-name nvidia/DeepSeek-R1-0528-FP4-V2 --tokenizer cl100k_base --max-model-len 2304 --ep 8 --dp-attention --engine sglang",
        "SGLang's scheduler, without SGLang's own arguments"
    );
    // Faster than real time when asked; a `sim` recipe's own scale wins.
    let fast = Launch {
        sim_time_scale: Some(50.0),
        ..launch.clone()
    };
    let c = server_command(&jobs[0], r.get("r").unwrap(), &fast).unwrap();
    assert!(c.shell_line().ends_with("--engine sglang --time-scale 50"));
    let own = recipes(
        "sim",
        "  engine-args: [--time-scale, \"10\"]\n",
        "{tp: 4, conc-list: [4]}",
    );
    let jobs = plan(&own, &Default::default(), &PlanOptions::default()).unwrap();
    let c = server_command(&jobs[0], own.get("r").unwrap(), &fast).unwrap();
    assert!(
        c.shell_line()
            .ends_with("--max-model-len 2304 --time-scale 10"),
        "{}",
        c.shell_line()
    );
}

#[test]
fn the_shown_command_masks_the_recipes_secrets_and_the_run_command_keeps_them() {
    let r = recipes(
        "vllm",
        "  engine-args: [--api-key, sk-0123456789abcdef0123, --hf-token=hf_abc, --max-num-batched-tokens, \"8192\"]\n  env: {HF_TOKEN: hf_abcdefghijklmnopqrstuvwxyz, VLLM_USE_V1: \"1\"}\n",
        "{tp: 8, conc-list: [4]}",
    );
    let jobs = plan(&r, &Default::default(), &PlanOptions::default()).unwrap();
    let launch = launch(Engines::Recipe, 8123, "servebench");
    let c = server_command(&jobs[0], r.get("r").unwrap(), &launch).unwrap();
    assert_eq!(
        c.redacted_line(),
        "HF_TOKEN='***' VLLM_USE_V1=1 vllm serve meta-llama/Llama-3.3-70B-Instruct --host 127.0.0.1 --port 8123 --tensor-parallel-size 8 --max-model-len 2304 --api-key '***' '--hf-token=***' --max-num-batched-tokens 8192"
    );
    // What is run is what the recipe says.
    assert!(c.shell_line().contains("--api-key sk-0123456789abcdef0123"));
    assert_eq!(
        c.env[0],
        ("HF_TOKEN".into(), "hf_abcdefghijklmnopqrstuvwxyz".into())
    );
}

/// A multi-node deployment's processes, from InferenceMAX v1's GB200 Dynamo TensorRT-LLM
/// recipe (MTP, one TP4 attention-DP prefill worker, four TEP8 decode workers): workers laid
/// out over 4-GPU GB200 trays in order, each with its pool's parallelism, the decode workers
/// speculating 3 tokens (DECODE_MTP_SIZE=3, R1's curve: 2.82 accepted) and taking caches over
/// NVLink (36 GPUs in one NVL72 domain); the router on the first node, in front of all five.
#[test]
fn a_multi_node_job_is_its_workers_and_router() {
    use servebench_sweep::cluster::{deployment, nodes_wanted, Node};
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../recipes/inferencemax-v1.yaml"
    );
    let r = load_recipes(&[file.into()]).unwrap();
    let o = PlanOptions {
        config_keys: vec!["dsr1-fp4-gb200-dynamo-trt".into()],
        seq_lens: vec![(1024, 1024)],
        conc: vec![4],
        ..Default::default()
    };
    let jobs = plan(&r, &Default::default(), &o).unwrap();
    let job = jobs
        .iter()
        .find(|j| j.spec_decoding.as_str() == "mtp")
        .unwrap();
    assert_eq!(job.gpus(), 36);
    assert_eq!(nodes_wanted(job), 9);
    let nodes: Vec<Node> = (0..9)
        .map(|i| Node {
            name: format!("gb-{i}"),
            addr: format!("10.0.0.{i}"),
        })
        .collect();
    let mut next = 30000;
    let l = launch(Engines::Sim, 0, "/opt/servebench");
    let d = deployment(job, &l, &nodes, || {
        next += 1;
        Ok(next - 1)
    })
    .unwrap();
    let placed: Vec<(&str, usize, u16)> = d
        .workers
        .iter()
        .map(|w| (w.name.as_str(), w.node(), w.port.unwrap()))
        .collect();
    assert_eq!(
        placed,
        [
            ("prefill-0", 0, 30000),
            ("decode-0", 1, 30001),
            ("decode-1", 3, 30002),
            ("decode-2", 5, 30003),
            ("decode-3", 7, 30004)
        ]
    );
    let common = "--gpu gb200 --model deepseek-r1-0528 --precision fp4";
    let tail = "--served-model-name nvidia/DeepSeek-R1-0528-FP4-v2 --tokenizer cl100k_base --max-model-len 2304";
    assert_eq!(
        d.workers[0].command.shell_line(),
        format!("/opt/servebench sim --role prefill --host 10.0.0.0 --port 30000 {common} --tp 4 {tail} --ep 4 --dp-attention --engine trt")
    );
    assert_eq!(
        d.workers[2].command.shell_line(),
        format!("/opt/servebench sim --role decode --host 10.0.0.3 --port 30002 {common} --tp 8 {tail} --ep 8 --spec-decode 3:2.82 --kv-link scale-up --engine trt")
    );
    assert_eq!(
        d.router.command.shell_line(),
        "/opt/servebench sim --role router --prefill http://10.0.0.0:30000 --decode http://10.0.0.1:30001 --decode http://10.0.0.3:30002 --decode http://10.0.0.5:30003 --decode http://10.0.0.7:30004 --host 10.0.0.0 --port 30005 --tokenizer cl100k_base --model nvidia/DeepSeek-R1-0528-FP4-v2 --max-model-len 2304"
    );
    // Fewer nodes than the layout fills: the workers wrap around onto them.
    let d = deployment(job, &l, &nodes[..2], || Ok(1)).unwrap();
    let on: Vec<usize> = d.workers.iter().map(|w| w.node()).collect();
    assert_eq!(on, [0, 1, 1, 1, 1]);
    // On real engines the workers are the srt-slurm recipe's, and this row names none.
    let real = launch(Engines::Recipe, 0, "/opt/servebench");
    let e = deployment(job, &real, &nodes, || Ok(1)).unwrap_err();
    assert!(e.contains("names no srt-slurm recipe (CONFIG_FILE="), "{e}");
}
