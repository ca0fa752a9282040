//! Power samplers' outputs (`servebench_power::parsers`): nvidia-smi CSV lines (each line of
//! the input), amd-smi `metric --json` output and the simulated engine's `/sim/power` body,
//! all on the same UTF-8 input. No panic; deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_power::parsers::{parse_amd_smi_json, parse_nvidia_smi_line, parse_sim_power};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        // Compared as text: NaN readings are not equal to themselves.
        let r = format!("{:?}", parse_nvidia_smi_line(line));
        assert_eq!(r, format!("{:?}", parse_nvidia_smi_line(line)));
    }
    let _ = parse_nvidia_smi_line(text);
    let amd = format!("{:?}", parse_amd_smi_json(text));
    assert_eq!(amd, format!("{:?}", parse_amd_smi_json(text)));
    if let Ok(samples) = parse_sim_power(text) {
        let again = parse_sim_power(text).expect("deterministic");
        assert_eq!(samples.len(), again.len());
    }
});
