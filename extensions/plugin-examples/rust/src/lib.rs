//! A compiled labkit driver plugin in Rust: a simulated photon counter.
//!
//! `cargo build --release` makes `target/release/libphoton_counter.so`; drop it into a folder
//! on `LABKIT_PLUGIN_PATH`. The types below mirror `labkit_plugin.h` (ABI 1.0) with
//! `#[repr(C)]`; nothing but C types crosses the boundary, and no panic does.

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

// ------------------------------------------------------------------- labkit_plugin.h, mirrored

const ABI_MAJOR: u32 = 1;
const ABI_VERSION: u32 = ABI_MAJOR << 16;

type Status = i32;
const OK: Status = 0;
const ERROR: Status = 1;
const ERROR_REFUSED: Status = 2;
const ERROR_BAD_RESOURCE: Status = 6;
const ERROR_UNKNOWN_NAME: Status = 7;
const ERROR_TEXT_TOO_LONG: Status = 9;

const FLOAT: i32 = 1;
const INT: i32 = 2;

#[repr(C)]
pub struct Text {
    data: *mut c_char,
    size: usize,
}

#[repr(C)]
pub union As {
    f: f64,
    i: i64,
    b: i32,
    text: std::mem::ManuallyDrop<Text>,
}

#[repr(C)]
pub struct Value {
    kind: i32,
    reserved: i32,
    value: As,
}

#[repr(C)]
pub struct Plugin {
    abi_version: u32,
    struct_size: u32,
    name: *const c_char,
    version: *const c_char,
    description: *const c_char,
    declarations: *const c_char,
    open: unsafe extern "C" fn(*const c_char, *mut *mut Device) -> Status,
    close: unsafe extern "C" fn(*mut Device) -> Status,
    set: unsafe extern "C" fn(*mut Device, *const c_char, *const Value) -> Status,
    get: unsafe extern "C" fn(*mut Device, *const c_char, *mut Value) -> Status,
    read: unsafe extern "C" fn(*mut Device, *const c_char, *mut Value) -> Status,
    action: unsafe extern "C" fn(*mut Device, *const c_char) -> Status,
    last_error: unsafe extern "C" fn(*const Device, *mut c_char, usize) -> i32,
    identify: Option<unsafe extern "C" fn(*mut Device, *mut Text) -> Status>,
    describe: Option<unsafe extern "C" fn(*mut Device, *mut Text) -> Status>,
    reserved: [*const c_void; 8],
}

// The table is immutable and its pointers are to static data: safe to share between threads.
unsafe impl Sync for Plugin {}

// ------------------------------------------------------------------- the simulated counter

const DECLARATIONS: &CStr = cr#"{
  "labkit_declarations": 1,
  "test_resource": "counter://selftest",
  "declarations": [
    {"role": "setting", "name": "gate_time", "unit": "s", "min": 0.001, "max": 10,
     "doc": "Counting time per reading"},
    {"role": "setting", "name": "threshold", "unit": "mV", "min": 5, "max": 500,
     "doc": "Discriminator threshold: pulses below it are not counted"},
    {"role": "reading", "name": "counts", "kind": "int", "doc": "Photons counted in one gate"},
    {"role": "reading", "name": "rate", "unit": "Hz", "doc": "Count rate of the last gate"},
    {"role": "action", "name": "clear", "doc": "Clear the running total"}
  ]
}"#;

pub struct Device {
    gate_time: f64,
    threshold: f64,
    last_counts: i64,
    total: i64,
    error: String,
}

thread_local! {
    static OPEN_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

impl Device {
    /// Counts in one gate: 20 kHz of photons, fewer above a higher threshold (no noise: the
    /// example stays repeatable).
    fn count(&mut self) -> i64 {
        let rate = 20_000.0 * (-(self.threshold - 5.0) / 150.0).exp();
        self.last_counts = (rate * self.gate_time).round() as i64;
        self.total += self.last_counts;
        self.last_counts
    }

    fn refuse(&mut self, status: Status, message: String) -> Status {
        self.error = message;
        status
    }
}

/// Run `body`, turning a panic into LABKIT_ERROR (it must not unwind into labkit).
fn guarded(device: *mut Device, body: impl FnOnce(&mut Device) -> Status) -> Status {
    let device = unsafe { &mut *device };
    match catch_unwind(AssertUnwindSafe(|| body(device))) {
        Ok(status) => status,
        Err(_) => {
            device.error = "internal error (a panic in the plugin)".into();
            ERROR
        }
    }
}

fn name_of<'a>(name: *const c_char) -> &'a str {
    unsafe { CStr::from_ptr(name) }.to_str().unwrap_or("")
}

unsafe extern "C" fn open(resource: *const c_char, out: *mut *mut Device) -> Status {
    let resource = CStr::from_ptr(resource).to_string_lossy();
    if !resource.starts_with("counter://") || resource.len() == "counter://".len() {
        OPEN_ERROR.with(|e| *e.borrow_mut() = "resources are counter://NAME".into());
        return ERROR_BAD_RESOURCE;
    }
    let device = Box::new(Device {
        gate_time: 0.1,
        threshold: 50.0,
        last_counts: 0,
        total: 0,
        error: String::new(),
    });
    *out = Box::into_raw(device);
    OK
}

unsafe extern "C" fn close(device: *mut Device) -> Status {
    drop(Box::from_raw(device));
    OK
}

unsafe extern "C" fn set(device: *mut Device, name: *const c_char, value: *const Value) -> Status {
    guarded(device, |d| {
        let value = &*value;
        match (name_of(name), value.kind) {
            ("gate_time", FLOAT) => d.gate_time = value.value.f,
            ("threshold", FLOAT) => d.threshold = value.value.f,
            (other, _) => return d.refuse(ERROR_UNKNOWN_NAME, format!("no setting {other}")),
        }
        OK
    })
}

unsafe extern "C" fn get(device: *mut Device, name: *const c_char, value: *mut Value) -> Status {
    guarded(device, |d| {
        let value = &mut *value;
        match (name_of(name), value.kind) {
            ("gate_time", FLOAT) => value.value.f = d.gate_time,
            ("threshold", FLOAT) => value.value.f = d.threshold,
            (other, _) => return d.refuse(ERROR_UNKNOWN_NAME, format!("no setting {other}")),
        }
        OK
    })
}

unsafe extern "C" fn read(device: *mut Device, name: *const c_char, value: *mut Value) -> Status {
    guarded(device, |d| {
        let value = &mut *value;
        match (name_of(name), value.kind) {
            ("counts", INT) => value.value.i = d.count(),
            ("rate", FLOAT) => value.value.f = d.count() as f64 / d.gate_time,
            (other, _) => return d.refuse(ERROR_UNKNOWN_NAME, format!("no reading {other}")),
        }
        OK
    })
}

unsafe extern "C" fn action(device: *mut Device, name: *const c_char) -> Status {
    guarded(device, |d| match name_of(name) {
        "clear" => {
            d.total = 0;
            OK
        }
        other => d.refuse(ERROR_REFUSED, format!("no action {other}")),
    })
}

unsafe extern "C" fn last_error(device: *const Device, message: *mut c_char, size: usize) -> i32 {
    let text = if device.is_null() {
        OPEN_ERROR.with(|e| e.borrow().clone())
    } else {
        (*device).error.clone()
    };
    if !message.is_null() && size > 0 {
        let length = text.len().min(size - 1);
        ptr::copy_nonoverlapping(text.as_ptr() as *const c_char, message, length);
        *message.add(length) = 0;
    }
    0
}

unsafe extern "C" fn identify(_device: *mut Device, json: *mut Text) -> Status {
    let text = br#"{"manufacturer": "labkit examples", "model": "PC-1 (Rust)"}"#;
    let json = &mut *json;
    if json.data.is_null() || text.len() + 1 > json.size {
        json.size = text.len();
        return ERROR_TEXT_TOO_LONG;
    }
    ptr::copy_nonoverlapping(text.as_ptr() as *const c_char, json.data, text.len());
    *json.data.add(text.len()) = 0;
    json.size = text.len();
    OK
}

static TABLE: Plugin = Plugin {
    abi_version: ABI_VERSION,
    struct_size: std::mem::size_of::<Plugin>() as u32,
    name: c"photon_counter".as_ptr(),
    version: c"0.1.0".as_ptr(),
    description: c"Photon counter with a discriminator, simulated (Rust example plugin)".as_ptr(),
    declarations: DECLARATIONS.as_ptr(),
    open,
    close,
    set,
    get,
    read,
    action,
    last_error,
    identify: Some(identify),
    describe: None,
    reserved: [ptr::null(); 8],
};

/// The one symbol labkit looks for.
#[no_mangle]
pub extern "C" fn labkit_plugin_entry(host_abi_version: u32) -> *const Plugin {
    if host_abi_version >> 16 == ABI_MAJOR {
        &TABLE
    } else {
        ptr::null()
    }
}
