//! The gha and k8s executors' files.

use servebench_sweep::export::{write_gha, write_k8s, GHA_MAX_MATRIX};
use servebench_sweep::load_recipes;
use servebench_sweep::plan::{plan, PlanOptions};

fn jobs(conc: usize) -> Vec<servebench_sweep::plan::Job> {
    let d = tempfile::tempdir().unwrap();
    let list: Vec<String> = (1..=conc).map(|c| c.to_string()).collect();
    let p = d.path().join("r.yaml");
    std::fs::write(
        &p,
        format!(
            "very-long-config-key-for-a-model-on-h200-with-vllm-and-more:
  image: vllm/vllm-openai:v0.11.0
  model: org/m
  model-prefix: a-very-long-model-prefix-that-keeps-going
  precision: fp8
  framework: vllm
  runner: h200
  multinode: false
  scenarios:
    fixed-seq-len:
    - isl: 1024
      osl: 1024
      search-space:
      - {{tp: 4, conc-list: [{}]}}
mn:
  image: img
  model: org/m
  model-prefix: mn
  precision: fp8
  framework: dynamo-trt
  runner: h200
  multinode: true
  scenarios:
    fixed-seq-len:
    - isl: 1024
      osl: 1024
      search-space:
      - conc-list: [1, 2]
        prefill: {{num-worker: 1, tp: 4, ep: 1, dp-attn: false}}
        decode: {{num-worker: 1, tp: 4, ep: 1, dp-attn: false}}
",
            list.join(", ")
        ),
    )
    .unwrap();
    let r = load_recipes(&[p]).unwrap();
    plan(&r, &Default::default(), &PlanOptions::default()).unwrap()
}

#[test]
fn gha_matrices_hold_at_most_256_jobs_with_unique_artifact_names() {
    let jobs = jobs(600);
    assert_eq!(jobs.len(), 601);
    let d = tempfile::tempdir().unwrap();
    let task = vec!["servebench".to_string(), "sweep".to_string()];
    let indexed: Vec<(usize, &servebench_sweep::plan::Job)> = jobs.iter().enumerate().collect();
    let files = write_gha(&indexed, &task, d.path()).unwrap();
    assert_eq!(files.len(), 4, "3 matrices and the workflow");
    let mut names = std::collections::HashSet::new();
    let mut indices = Vec::new();
    for f in &files[..3] {
        let m: serde_json::Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        let inc = m["include"].as_array().unwrap();
        assert!(inc.len() <= GHA_MAX_MATRIX);
        for e in inc {
            assert!(names.insert(e["artifact-name"].as_str().unwrap().to_string()));
            indices.push(e["job-index"].as_u64().unwrap());
            assert!(e["runner"].is_string() && e["recipe-fingerprint"].is_string());
        }
    }
    let sizes: Vec<usize> = files[..3]
        .iter()
        .map(|f| {
            let m: serde_json::Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
            m["include"].as_array().unwrap().len()
        })
        .collect();
    assert_eq!(sizes, [256, 256, 89]);
    assert_eq!(
        indices,
        (0..601).collect::<Vec<u64>>(),
        "every job once, in plan order"
    );
    // The workflow is YAML with one run job per matrix, each reading its own.
    let w: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(&files[3]).unwrap()).unwrap();
    let jobs_map = w["jobs"].as_mapping().unwrap();
    assert_eq!(jobs_map.len(), 4);
    for k in 0..3 {
        let j = &w["jobs"][format!("run-{k:03}").as_str()];
        assert_eq!(
            j["strategy"]["matrix"].as_str().unwrap(),
            format!("${{{{ fromJSON(needs.setup.outputs.m{k:03}) }}}}")
        );
        assert!(j["steps"][1]["run"]
            .as_str()
            .unwrap()
            .ends_with(
                "servebench sweep --job-index ${{ matrix.job-index }} --job-conc ${{ matrix.job-conc }}"
            ));
    }
}

#[test]
fn k8s_jobs_have_valid_unique_names_their_gpus_and_the_results_volume() {
    let jobs = jobs(3);
    let d = tempfile::tempdir().unwrap();
    let task = vec!["servebench".to_string(), "sweep".to_string()];
    let (files, skipped) = write_k8s(&jobs, &task, "/results", "pvc-a", d.path()).unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(skipped.len(), 1, "the multi-node job");
    assert!(skipped[0].starts_with("mn ("));
    let mut names = std::collections::HashSet::new();
    for (i, f) in files.iter().enumerate() {
        let m: serde_norway::Value =
            serde_norway::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let name = m["metadata"]["name"].as_str().unwrap().to_string();
        assert!(name.len() <= 63, "{name}");
        assert!(name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        assert!(!name.ends_with('-'));
        assert!(names.insert(name));
        let c = &m["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"].as_str(), Some("vllm/vllm-openai:v0.11.0"));
        assert_eq!(c["resources"]["limits"]["nvidia.com/gpu"].as_u64(), Some(4));
        let cmd: Vec<&str> = c["command"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(cmd, ["servebench", "sweep", "--job-index", &i.to_string()]);
        assert_eq!(
            m["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
                .as_str(),
            Some("pvc-a")
        );
    }
}
