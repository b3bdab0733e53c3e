/*
 * labkit_plugin.h — the C ABI of labkit's compiled driver plugins.
 *
 * A compiled driver plugin is one shared library (.so, .dylib, .dll) that exports one function,
 * labkit_plugin_entry(), which returns a table: the ABI version, the driver's name and
 * description, its declarations (settings, readings and actions as a JSON document, see
 * "Declarations" below) and the functions labkit calls to open and close a device by resource
 * string, set, get and read values, run actions and fetch the last error message.
 *
 * labkit finds such libraries in its plugin folders (LABKIT_PLUGIN_PATH and the configuration
 * file) or through an entry point, and turns each into an ordinary labkit instrument: panels,
 * units, limits, ramps, locks, interlocks, runs, snapshots and station files all work
 * unchanged. labkit checks every value against the declarations *before* it calls into the
 * library: a plugin never sees a value outside its declared limits, of the wrong kind or not
 * among its choices.
 *
 * Build a plugin against this header with
 *     cc -shared -fPIC -fvisibility=hidden -I "$(python -c 'import labkit; print(labkit.plugin_include_dir())')" ...
 * and see docs/how-to/compiled-plugins.md (C, C++ and Rust) and extensions/labkit-acme-psu.
 *
 * ------------------------------------------------------------------------------------------
 * Plain C types only. Every struct is laid out by the platform's C ABI (no packing pragmas);
 * every string is UTF-8 and NUL-terminated.
 *
 * Memory ownership, for every pointer that crosses the boundary:
 *   - The table returned by labkit_plugin_entry() and every string it points to (name,
 *     version, description, declarations) belong to the plugin. They must stay valid and
 *     unchanged until the library is unloaded; static storage is the usual choice. labkit
 *     never writes to them and never frees them.
 *   - A labkit_device is owned by the plugin: created by open(), released by close(). labkit
 *     never looks inside it, and after close() never uses it again.
 *   - Strings labkit passes in (resource strings, declaration names, text values in set())
 *     belong to labkit and are valid only during the call. Copy what you keep.
 *   - Buffers labkit passes out (labkit_value.as.text in get() and read(), the message buffer
 *     of last_error(), the labkit_text of identify() and describe()) belong to labkit. The
 *     plugin writes at most their stated size, NUL included, and keeps no pointer to them.
 *     When text does not fit, the plugin stores the length it needs (without the NUL) in the
 *     buffer's size and returns LABKIT_ERROR_TEXT_TOO_LONG; labkit calls again with a buffer
 *     at least that large (labkit_put_text() below does all of this).
 *
 * Threads:
 *   - labkit serialises the calls to one device: it never calls two functions on the same
 *     device at once, and each call sees everything the previous one did (labkit holds the
 *     instrument's lock across each call). The calls usually come from the instrument's
 *     worker thread, but not always from the same thread: a plugin must not rely on thread
 *     affinity (an SDK that needs it runs its own thread inside the plugin).
 *   - Different devices of the same plugin may be called at the same time from different
 *     threads: keep state per device, and guard anything the library shares between devices
 *     (a vendor SDK handle, a bus, a registry of open devices) with a lock.
 *   - open() may be called from several threads at once (for different resources).
 *   - last_error(NULL, ...) reports the last failed open() *of the calling thread*: keep that
 *     message in thread-local storage (C11 _Thread_local) or equivalent.
 *   - labkit_plugin_entry() may be called from any thread, more than once; it must return the
 *     same table each time, do no I/O, start no threads and open no device.
 *   - A plugin must not call back into Python, and must not block signals or install signal
 *     handlers.
 *
 * Blocking: each function may block (device I/O). A plugin should bound every wait by its own
 * timeout and return LABKIT_ERROR_TIMEOUT rather than hang: labkit cannot interrupt a call
 * into the library.
 *
 * Versions and forward compatibility:
 *   - abi_version is (major << 16) | minor. labkit loads a plugin whose major version equals
 *     its own and refuses any other with a clear reason ("wrong ABI"). A minor version only
 *     adds optional things: a newer labkit loads plugins built for an older minor; an older
 *     labkit loads plugins built for a newer minor and ignores what it does not know.
 *   - labkit_plugin_entry() receives labkit's own ABI version and may return NULL to decline
 *     it (labkit then reports that the plugin declined this labkit). LABKIT_PLUGIN_DEFINE
 *     below declines any other major version.
 *   - struct_size is sizeof(labkit_plugin) as the plugin was compiled. labkit reads only the
 *     fields that lie inside struct_size, so a future minor version may append fields.
 *   - reserved[] slots are NULL; a future minor version may give a slot a meaning (an optional
 *     function), and old plugins, whose slots are NULL, simply do not offer it.
 *   - labkit_value.reserved is 0; future kinds get new kind numbers.
 *
 * ------------------------------------------------------------------------------------------
 * Declarations: a JSON document (UTF-8, NUL-terminated), the single source of the panel,
 * validation, units, limits, snapshots and station-file checks.
 *
 *   {
 *     "labkit_declarations": 1,                 required: the schema version (this is 1)
 *     "test_resource": "sim://selftest",        optional: a resource the plugin can always
 *                                               open without hardware (its simulated device);
 *                                               `labkit plugins` opens it in a separate
 *                                               process, reads every value and closes it
 *     "declarations": [                         required: in panel order
 *       {"role": "setting", "name": "voltage", "kind": "float", "unit": "V",
 *        "min": 0, "max": 30, "ramp": 2, "safe": 0, "readback": "voltage_out",
 *        "doc": "Output voltage set-point"},
 *       {"role": "setting", "name": "mode", "kind": "enum",
 *        "choices": ["CV", "CC"], "doc": "Regulation mode"},
 *       {"role": "reading", "name": "voltage_out", "kind": "float", "unit": "V",
 *        "doc": "Measured output voltage"},
 *       {"role": "action", "name": "clear_protection", "label": "Clear OVP",
 *        "confirm": "Re-enable the output stage?", "doc": "Clear a latched protection trip"}
 *     ]
 *   }
 *
 *   Every declaration:  role ("setting" | "reading" | "action"), name (a Python identifier
 *                       not starting with "_"), doc (required, non-empty text), label (text).
 *   Settings:  kind ("float" default | "int" | "bool" | "str" | "enum"), unit (pint syntax:
 *              "V", "mA", "degC", "Hz"...), min, max, soft_min, soft_max, step, ramp
 *              (unit per second), ramp_step, choices (texts for enum/str; numbers for float/
 *              int), safe (the value abort and make_safe() bring it to), access ("rw" default |
 *              "r" | "w"), readback (a reading's name), lockable (bool), delay (s after each
 *              set).
 *   Readings:  kind, unit, choices.
 *   Actions:   confirm (a question a panel asks before running it).
 *   Keys starting with "x-" are the plugin's own and ignored; any other unknown key is an
 *   error (a safety-relevant key an older labkit did not know must not be silently dropped).
 *   Numbers are JSON numbers, finite; limits are in the declared unit.
 *
 * Values cross the boundary in the declared kind:
 *   float -> LABKIT_FLOAT (as.f, in the declared unit)   int  -> LABKIT_INT (as.i)
 *   bool  -> LABKIT_BOOL  (as.b, 0 or 1)                 str, enum -> LABKIT_TEXT (as.text;
 *   an enum's value is one of its declared choices, exactly as spelled there)
 */

#ifndef LABKIT_PLUGIN_H
#define LABKIT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LABKIT_PLUGIN_ABI_MAJOR 1
#define LABKIT_PLUGIN_ABI_MINOR 0
#define LABKIT_PLUGIN_ABI_VERSION \
    ((uint32_t)((LABKIT_PLUGIN_ABI_MAJOR << 16) | LABKIT_PLUGIN_ABI_MINOR))

/* The one symbol a plugin exports. */
#define LABKIT_PLUGIN_ENTRY_SYMBOL "labkit_plugin_entry"

#if defined(_WIN32) || defined(__CYGWIN__)
#define LABKIT_PLUGIN_EXPORT __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define LABKIT_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define LABKIT_PLUGIN_EXPORT
#endif

/* ------------------------------------------------------------------------- status codes */

/* What every function returns. labkit turns each into a typed error naming the plugin, the
 * instrument, the declaration and the message of last_error(). */
typedef int32_t labkit_status;

#define LABKIT_OK 0
#define LABKIT_ERROR 1                /* failed; last_error() says why (-> InstrumentError) */
#define LABKIT_ERROR_REFUSED 2        /* the device refused this value or request in its
                                         present state (-> InstrumentError) */
#define LABKIT_ERROR_TIMEOUT 3        /* no answer in time (-> InstrumentTimeout) */
#define LABKIT_ERROR_DISCONNECTED 4   /* the link dropped (-> ConnectionLost; labkit may
                                         close and open again) */
#define LABKIT_ERROR_NO_DEVICE 5      /* open(): nothing answers at this resource */
#define LABKIT_ERROR_BAD_RESOURCE 6   /* open(): the resource string does not parse */
#define LABKIT_ERROR_UNKNOWN_NAME 7   /* a name that is not in the declarations */
#define LABKIT_ERROR_WRONG_KIND 8     /* a value of another kind than declared */
#define LABKIT_ERROR_TEXT_TOO_LONG 9  /* a text output does not fit: size holds what it needs */
#define LABKIT_ERROR_UNSUPPORTED 10   /* not possible with this device or firmware */
#define LABKIT_ERROR_NO_MEMORY 11

/* ------------------------------------------------------------------------------- values */

#define LABKIT_FLOAT 1
#define LABKIT_INT 2
#define LABKIT_BOOL 3
#define LABKIT_TEXT 4

/* A text buffer. In: data points to size bytes plus a NUL. Out: data points to a buffer of
 * size bytes (NUL included) that the plugin fills; on return size is the length written,
 * without the NUL (or, with LABKIT_ERROR_TEXT_TOO_LONG, the length needed). */
typedef struct labkit_text {
    char *data;
    size_t size;
} labkit_text;

/* One value. labkit fills kind before get() and read(); the plugin fills the matching member
 * of `as` and leaves kind alone. */
typedef struct labkit_value {
    int32_t kind;     /* LABKIT_FLOAT, LABKIT_INT, LABKIT_BOOL or LABKIT_TEXT */
    int32_t reserved; /* 0 */
    union {
        double f;
        int64_t i;
        int32_t b;
        labkit_text text;
    } as;
} labkit_value;

/* An open device: opaque to labkit, defined by the plugin. */
typedef struct labkit_device labkit_device;

/* ------------------------------------------------------------------------------- table */

typedef struct labkit_plugin {
    uint32_t abi_version; /* LABKIT_PLUGIN_ABI_VERSION the plugin was compiled against */
    uint32_t struct_size; /* sizeof(labkit_plugin) as the plugin was compiled */

    const char *name;         /* the driver's name: a Python identifier, e.g. "acme_psu" */
    const char *version;      /* the driver's own version, e.g. "1.2.0" */
    const char *description;  /* one line for people: maker, model family, link */
    const char *declarations; /* the JSON document described above */

    /* Open the device at `resource` and store a new handle in *device. On failure leave
     * *device untouched, return an error status and keep the message for last_error(NULL). */
    labkit_status (*open)(const char *resource, labkit_device **device);

    /* Close the device and release the handle, whatever happens: labkit never uses it again.
     * Return LABKIT_OK, or an error status if the device could not be left cleanly (labkit
     * warns; the handle is still gone). */
    labkit_status (*close)(labkit_device *device);

    /* Write a setting. labkit has checked kind, unit, choices, limits, locks and interlocks;
     * the plugin checks what only the device knows. */
    labkit_status (*set)(labkit_device *device, const char *name, const labkit_value *value);

    /* Ask the device for a setting's present value. */
    labkit_status (*get)(labkit_device *device, const char *name, labkit_value *value);

    /* Measure a reading. */
    labkit_status (*read)(labkit_device *device, const char *name, labkit_value *value);

    /* Run an action. */
    labkit_status (*action)(labkit_device *device, const char *name);

    /* Copy the message of the last failure into message (at most size bytes, NUL included,
     * truncated if longer; "" if none) and return the device's own error code (0 if it has
     * none). device NULL: the last failed open() of the calling thread. */
    int32_t (*last_error)(const labkit_device *device, char *message, size_t size);

    /* Optional (NULL if not offered): who the device says it is, as a JSON object of strings
     * ({"manufacturer": ..., "model": ..., "serial": ..., "firmware": ...}), into json. */
    labkit_status (*identify)(labkit_device *device, labkit_text *json);

    /* Optional (NULL if not offered): this device's own declarations, as a JSON document like
     * `declarations`, when they differ from the library's (a model of the family with a
     * narrower range). labkit asks right after each open(), before any other call, and uses
     * them for this device (labkit's "declarations from the device"); a device that declares
     * otherwise when it is opened again is refused (another model behind the same resource). */
    labkit_status (*describe)(labkit_device *device, labkit_text *json);

    void (*reserved[8])(void); /* NULL */
} labkit_plugin;

/* The entry point every plugin exports. host_abi_version is labkit's
 * LABKIT_PLUGIN_ABI_VERSION; return NULL to decline it. */
typedef const labkit_plugin *(*labkit_plugin_entry_fn)(uint32_t host_abi_version);

/* Define the entry point for a static table:   LABKIT_PLUGIN_DEFINE(my_table)   */
#define LABKIT_PLUGIN_DEFINE(table)                                                        \
    LABKIT_PLUGIN_EXPORT const labkit_plugin *labkit_plugin_entry(uint32_t host_abi_version) \
    {                                                                                      \
        return (host_abi_version >> 16) == LABKIT_PLUGIN_ABI_MAJOR ? &(table) : NULL;       \
    }

/* ------------------------------------------------------------------------------- helpers */

/* Write `text` into an output buffer following the size protocol above. */
static inline labkit_status labkit_put_text(labkit_text *out, const char *text)
{
    size_t length = strlen(text);
    if (out->data == NULL || length + 1 > out->size) {
        out->size = length;
        return LABKIT_ERROR_TEXT_TOO_LONG;
    }
    memcpy(out->data, text, length + 1);
    out->size = length;
    return LABKIT_OK;
}

/* Copy a message for last_error(): truncated to fit, always NUL-terminated (if size > 0). */
static inline void labkit_copy_message(char *message, size_t size, const char *text)
{
    size_t length;
    if (message == NULL || size == 0) {
        return;
    }
    length = strlen(text);
    if (length >= size) {
        length = size - 1;
    }
    memcpy(message, text, length);
    message[length] = '\0';
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LABKIT_PLUGIN_H */
