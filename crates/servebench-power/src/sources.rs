//! Where samples come from. Polled sources (NVML, amd-smi, the simulated engine) are read on
//! a fixed schedule; `nvidia-smi` runs in its own loop mode and is read line by line.

use crate::Sample;
use servebench_core::clock::mono_ns;
use servebench_core::endpoint::BaseUrl;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A power source, as `--power` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// NVIDIA GPUs through NVML (`libnvidia-ml.so.1`, loaded at run time).
    Nvml,
    /// NVIDIA GPUs through `nvidia-smi --query-gpu ... -lms`, where NVML cannot be loaded.
    NvidiaSmi,
    /// AMD GPUs through `amd-smi metric --power --energy --json`.
    AmdSmi,
    /// The simulated engine's `/sim/power` at this base URL.
    Sim(BaseUrl),
}

impl std::str::FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Source, String> {
        match s {
            "nvml" => Ok(Source::Nvml),
            "nvidia-smi" => Ok(Source::NvidiaSmi),
            "amd-smi" => Ok(Source::AmdSmi),
            _ => match s.strip_prefix("sim:") {
                Some(url) => BaseUrl::parse(url)
                    .map(Source::Sim)
                    .map_err(|e| format!("'sim:…': {e}")),
                None => Err(format!(
                    "'{s}': expected nvml, nvidia-smi, amd-smi or sim:http://HOST:PORT"
                )),
            },
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Sim(url) => write!(f, "sim:{url}"),
            s => f.write_str(s.name()),
        }
    }
}

/// Hands a batch of samples (or an error) to the recorder; `false` means stop.
pub(crate) type Push<'a> = dyn Fn(Result<Vec<Sample>, String>) -> bool + 'a;

pub(crate) trait Reader: Send {
    fn run(&mut self, period: Duration, push: &Push);
}

impl Source {
    pub fn name(&self) -> &'static str {
        match self {
            Source::Nvml => "nvml",
            Source::NvidiaSmi => "nvidia-smi",
            Source::AmdSmi => "amd-smi",
            Source::Sim(_) => "sim",
        }
    }

    /// The gap check's default limit: five periods of the 10 Hz default, where a sample is a
    /// library call or a line of a running tool; 3 s (InferenceX's limit) for amd-smi, whose
    /// every reading starts a Python process.
    pub fn default_max_gap_s(&self) -> f64 {
        match self {
            Source::AmdSmi => 3.0,
            _ => 0.5,
        }
    }

    /// Opens the source and reads it once, so that a source that cannot work says why now.
    pub(crate) fn open(&self, period: Duration) -> Result<Box<dyn Reader>, String> {
        match self {
            Source::Nvml => {
                let nvml = nvml_wrapper::Nvml::init().map_err(|e| {
                    format!("NVML could not be loaded ({e}); where only nvidia-smi works, use --power nvidia-smi")
                })?;
                let mut r = Polled(NvmlRead { nvml });
                r.0.read()?;
                Ok(Box::new(r))
            }
            Source::Sim(url) => {
                let http = servebench_http::Client::local(url.clone(), Duration::from_secs(2))
                    .map_err(|e| e.to_string())?;
                let mut r = Polled(SimRead { http });
                r.0.read()?;
                Ok(Box::new(r))
            }
            Source::AmdSmi => {
                let mut r = Polled(AmdSmiRead);
                r.0.read()?;
                Ok(Box::new(r))
            }
            Source::NvidiaSmi => NvidiaSmi::spawn(period).map(|r| Box::new(r) as Box<dyn Reader>),
        }
    }
}

/// A source read on demand.
trait Read1: Send {
    fn read(&mut self) -> Result<Vec<Sample>, String>;
}

struct Polled<R: Read1>(R);

impl<R: Read1> Reader for Polled<R> {
    /// Reads at `start + k × period`; a slow read skips the ticks it overran.
    fn run(&mut self, period: Duration, push: &Push) {
        let start = Instant::now();
        let mut k: u32 = 0;
        while push(self.0.read()) {
            let elapsed = start.elapsed();
            k = k.max((elapsed.as_secs_f64() / period.as_secs_f64()) as u32) + 1;
            // The sampling period itself: nothing else to wait on.
            std::thread::sleep((start + period * k).saturating_duration_since(Instant::now()));
        }
    }
}

struct NvmlRead {
    nvml: nvml_wrapper::Nvml,
}

impl Read1 for NvmlRead {
    fn read(&mut self) -> Result<Vec<Sample>, String> {
        let n = self.nvml.device_count().map_err(|e| format!("NVML: {e}"))?;
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n {
            let d = self
                .nvml
                .device_by_index(i)
                .map_err(|e| format!("NVML GPU {i}: {e}"))?;
            let t0 = mono_ns();
            let mw = d
                .power_usage()
                .map_err(|e| format!("NVML GPU {i} power: {e}"))?;
            // Volta and newer count energy since the driver loaded, in mJ.
            let mj = d.total_energy_consumption().ok();
            let t1 = mono_ns();
            out.push(Sample {
                mono_ns: t0 + (t1 - t0) / 2,
                gpu: i,
                power_w: mw as f64 / 1000.0,
                energy_j: mj.map(|e| e as f64 / 1000.0),
            });
        }
        Ok(out)
    }
}

struct SimRead {
    http: servebench_http::Client,
}

impl Read1 for SimRead {
    fn read(&mut self) -> Result<Vec<Sample>, String> {
        let r = self.http.get("/sim/power").map_err(|e| e.to_string())?;
        if r.status != 200 {
            return Err(format!(
                "{}: HTTP {}",
                self.http.base().join("/sim/power"),
                r.status
            ));
        }
        parse_sim_power(&r.text())
    }
}

/// `GET /sim/power` of the simulated engine: its `CLOCK_MONOTONIC` stamp (the same clock on
/// this host) and each GPU's power and energy. The energy counter runs in simulated time; it
/// is divided by the time scale so that it agrees with power integrated over the wall clock.
pub fn parse_sim_power(body: &str) -> Result<Vec<Sample>, String> {
    let v: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("/sim/power: {e}: {body}"))?;
    let mono_ns = v["mono_ns"]
        .as_u64()
        .ok_or_else(|| format!("/sim/power has no mono_ns: {body}"))?;
    let scale = v["time_scale"].as_f64().unwrap_or(1.0);
    let gpus = v["gpus"]
        .as_array()
        .ok_or_else(|| format!("/sim/power has no gpus (is it the engine profile?): {body}"))?;
    gpus.iter()
        .map(|g| {
            Ok(Sample {
                mono_ns,
                gpu: g["index"].as_u64().ok_or("gpu without index")? as u32,
                power_w: g["power_w"].as_f64().ok_or("gpu without power_w")?,
                energy_j: g["energy_j"].as_f64().map(|e| e / scale),
            })
        })
        .collect()
}

/// `nvidia-smi` in loop mode, one CSV line per GPU per period.
struct NvidiaSmi {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

/// What is asked of nvidia-smi: power in W and the energy counter in mJ, without units.
pub(crate) const NVIDIA_SMI_QUERY: &str = "index,power.draw,total_energy_consumption";

impl NvidiaSmi {
    fn spawn(period: Duration) -> Result<NvidiaSmi, String> {
        let ms = period.as_millis().max(1);
        let mut child = Command::new("nvidia-smi")
            .arg(format!("--query-gpu={NVIDIA_SMI_QUERY}"))
            .args(["--format=csv,noheader,nounits", &format!("-lms={ms}")])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run nvidia-smi: {e}"))?;
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // The first line must parse, or the source does not work here.
        match lines.next() {
            Some(Ok(l)) => {
                parse_nvidia_smi_line(&l)?;
            }
            _ => {
                let _ = child.kill();
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                return Err(format!("nvidia-smi printed nothing ({status})"));
            }
        }
        Ok(NvidiaSmi { child, lines })
    }
}

impl Reader for NvidiaSmi {
    fn run(&mut self, _period: Duration, push: &Push) {
        loop {
            let r = match self.lines.next() {
                Some(Ok(l)) => {
                    // Stamped when read: nvidia-smi flushes each line as it queries.
                    let t = mono_ns();
                    parse_nvidia_smi_line(&l).map(|s| {
                        s.map(|(gpu, power_w, energy_j)| Sample {
                            mono_ns: t,
                            gpu,
                            power_w,
                            energy_j,
                        })
                        .into_iter()
                        .collect()
                    })
                }
                Some(Err(e)) => Err(format!("reading nvidia-smi: {e}")),
                None => Err("nvidia-smi exited".to_string()),
            };
            let ended = r.as_ref().is_err_and(|e| e == "nvidia-smi exited");
            if !push(r) || ended {
                break;
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One line of `nvidia-smi --query-gpu=index,power.draw,total_energy_consumption
/// --format=csv,noheader,nounits`: `0, 71.23, 26416845` (W, mJ). `[N/A]` power skips the line
/// (`None`); `[N/A]` energy leaves the counter out.
pub fn parse_nvidia_smi_line(line: &str) -> Result<Option<(u32, f64, Option<f64>)>, String> {
    let f: Vec<&str> = line.split(',').map(str::trim).collect();
    let bad = || format!("nvidia-smi line '{line}': expected 'index, power W, energy mJ'");
    if f.len() != 3 {
        return Err(bad());
    }
    let gpu: u32 = f[0].parse().map_err(|_| bad())?;
    let na = |x: &str| x.starts_with('[') || x.eq_ignore_ascii_case("n/a");
    if na(f[1]) {
        return Ok(None);
    }
    let power_w = reading(f[1]).ok_or_else(bad)?;
    let energy_j = if na(f[2]) {
        None
    } else {
        Some(reading(f[2]).ok_or_else(bad)? / 1000.0)
    };
    Ok(Some((gpu, power_w, energy_j)))
}

struct AmdSmiRead;

impl Read1 for AmdSmiRead {
    fn read(&mut self) -> Result<Vec<Sample>, String> {
        let t0 = mono_ns();
        let o = Command::new("amd-smi")
            .args(["metric", "--power", "--energy", "--json"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run amd-smi: {e}"))?;
        let t1 = mono_ns();
        if !o.status.success() {
            return Err(format!(
                "amd-smi metric: {}: {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        let t = t0 + (t1 - t0) / 2;
        Ok(parse_amd_smi_json(&String::from_utf8_lossy(&o.stdout))?
            .into_iter()
            .map(|(gpu, power_w, energy_j)| Sample {
                mono_ns: t,
                gpu,
                power_w,
                energy_j,
            })
            .collect())
    }
}

/// `amd-smi metric --power --energy --json`: a list of `{"gpu": N, "power": {...}, "energy":
/// {...}}`. Versions differ in names and in how they write values (`123`, `"123 W"`, `{"value":
/// 123, "unit": "W"}`); socket power is taken (current, else average) and the energy
/// accumulator in J.
pub fn parse_amd_smi_json(text: &str) -> Result<Vec<(u32, f64, Option<f64>)>, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("amd-smi JSON: {e}"))?;
    let list = match &v {
        serde_json::Value::Array(a) => a.clone(),
        serde_json::Value::Object(o) => match o.get("gpu_data").and_then(|g| g.as_array()) {
            Some(a) => a.clone(),
            None => vec![v.clone()],
        },
        _ => return Err(format!("amd-smi JSON: expected a list of GPUs: {text}")),
    };
    let mut out = Vec::new();
    for g in &list {
        let gpu = g["gpu"]
            .as_u64()
            .ok_or_else(|| format!("amd-smi JSON: an entry without \"gpu\": {g}"))?
            as u32;
        let power = [
            "socket_power",
            "current_socket_power",
            "average_socket_power",
        ]
        .iter()
        .find_map(|k| quantity(&g["power"][*k], "W"));
        let Some(power_w) = power else {
            return Err(format!("amd-smi JSON: GPU {gpu} has no socket power: {g}"));
        };
        let energy_j = ["total_energy_consumption", "energy_accumulator", "energy"]
            .iter()
            .find_map(|k| quantity(&g["energy"][*k], "J"));
        out.push((gpu, power_w, energy_j));
    }
    Ok(out)
}

/// A power or energy reading: a finite number, not negative (`NaN`, `inf` and `-5` would
/// poison every total they enter).
fn reading(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0)
}

/// A number in `base` units from `123`, `"123 W"`, `"123.4 uJ"` or `{"value": 123, "unit":
/// "mW"}`; `None` for `N/A` and the like, and for a non-finite or negative reading.
fn quantity(v: &serde_json::Value, base: &str) -> Option<f64> {
    let (x, unit): (f64, String) = match v {
        serde_json::Value::Number(n) => (n.as_f64()?, base.to_string()),
        serde_json::Value::String(s) => {
            let mut it = s.split_whitespace();
            let x = it.next()?.parse().ok()?;
            (x, it.next().unwrap_or(base).to_string())
        }
        serde_json::Value::Object(o) => (
            o.get("value")?.as_f64()?,
            o.get("unit")
                .and_then(|u| u.as_str())
                .unwrap_or(base)
                .to_string(),
        ),
        _ => return None,
    };
    let prefix = unit.strip_suffix(base)?;
    let f = match prefix {
        "" => 1.0,
        "m" => 1e-3,
        "u" | "µ" => 1e-6,
        "k" => 1e3,
        _ => return None,
    };
    Some(x * f).filter(|x| x.is_finite() && *x >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_and_print() {
        for s in ["nvml", "nvidia-smi", "amd-smi", "sim:http://127.0.0.1:8000"] {
            assert_eq!(s.parse::<Source>().unwrap().to_string(), s);
        }
        let e = "rocm-smi".parse::<Source>().unwrap_err();
        assert!(
            e.contains("expected nvml, nvidia-smi, amd-smi or sim:"),
            "{e}"
        );
    }

    #[test]
    fn nvidia_smi_lines() {
        assert_eq!(
            parse_nvidia_smi_line("0, 71.23, 26416845").unwrap(),
            Some((0, 71.23, Some(26416.845)))
        );
        assert_eq!(
            parse_nvidia_smi_line("7, 698.40, [N/A]").unwrap(),
            Some((7, 698.4, None))
        );
        assert_eq!(parse_nvidia_smi_line("3, [N/A], [N/A]").unwrap(), None);
        let e = parse_nvidia_smi_line("index, power.draw [W]").unwrap_err();
        assert!(e.contains("expected 'index, power W, energy mJ'"), "{e}");
        assert!(parse_nvidia_smi_line("x, 1, 2").is_err());
        // Found by fuzzing: readings that would poison every total.
        for bad in ["0, NaN, 1", "0, inf, 1", "0, -5, 1", "0, 5, -1"] {
            assert!(parse_nvidia_smi_line(bad).is_err(), "{bad}");
        }
        let amd = parse_amd_smi_json(r#"[{"gpu": 0, "power": {"socket_power": "-3 W"}}]"#);
        assert!(amd.unwrap_err().contains("no socket power"));
    }

    #[test]
    fn amd_smi_json_of_several_versions() {
        // ROCm 6.1-style: plain numbers and strings with units.
        let a = r#"[{"gpu": 0, "power": {"socket_power": "540 W", "gfx_voltage": "N/A"},
                     "energy": {"total_energy_consumption": "1234567.5 uJ"}},
                    {"gpu": 1, "power": {"socket_power": 120}, "energy": "N/A"}]"#;
        assert_eq!(
            parse_amd_smi_json(a).unwrap(),
            vec![(0, 540.0, Some(1.2345675)), (1, 120.0, None)]
        );
        // ROCm 6.3+: value/unit objects, under gpu_data.
        let b = r#"{"gpu_data": [{"gpu": 2, "power": {"socket_power": {"value": 750, "unit": "W"}},
                     "energy": {"total_energy_consumption": {"value": 3.5, "unit": "kJ"}}}]}"#;
        assert_eq!(
            parse_amd_smi_json(b).unwrap(),
            vec![(2, 750.0, Some(3500.0))]
        );
        let e =
            parse_amd_smi_json(r#"[{"gpu": 0, "power": {"socket_power": "N/A"}}]"#).unwrap_err();
        assert!(e.contains("GPU 0 has no socket power"), "{e}");
    }

    #[test]
    fn sim_power_energy_is_brought_to_wall_time() {
        let s = parse_sim_power(
            r#"{"mono_ns": 5000, "sim_time_s": 20.0, "time_scale": 10.0,
                "gpus": [{"index": 0, "power_w": 700.0, "energy_j": 14000.0},
                         {"index": 1, "power_w": 700.0, "energy_j": 14000.0}]}"#,
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].gpu, 1);
        assert_eq!(s[0].mono_ns, 5000);
        assert_eq!(s[0].energy_j, Some(1400.0));
        let e = parse_sim_power(r#"{"mono_ns": 1}"#).unwrap_err();
        assert!(e.contains("engine profile"), "{e}");
    }
}
