/* A small plugin for labkit's own tests, and its broken variants (one -D flag each).
 *
 * A "meter": a range setting, a gain (int), a label (str) and a reading that is the range
 * times the gain. Built by tests/drivers/compiled/conftest.py with the system compiler.
 *
 *   -DWRONG_ABI            the table says ABI 2.0
 *   -DDECLINE_ABI          the entry point returns NULL
 *   -DSMALL_TABLE          struct_size smaller than ABI 1.0's table
 *   -DNO_ENTRY             the entry point is not exported (hidden)
 *   -DNULL_READ            the table has no read function
 *   -DBAD_DECLARATIONS     a declaration with min above max
 *   -DBAD_JSON             declarations that are not JSON
 *   -DCRASH_IN_CONSTRUCTOR a constructor that dereferences NULL when the library is loaded
 *   -DCRASH_IN_ENTRY       the entry point dereferences NULL
 *   -DHANG_IN_ENTRY        the entry point never returns
 *   -DCRASH_IN_OPEN        open() dereferences NULL (found by the self-test)
 *   -DOPEN_FAILS           open() returns LABKIT_ERROR with a message
 *   -DBAD_STATUS           read() returns a status the ABI does not define
 *   -DLONG_TEXT            get("label") needs a bigger buffer than labkit's first one
 *   -DLYING_TEXT           get("label") claims to have written more than the buffer holds
 *   -DNARROW_DEVICE        describe(): this device's range only goes to 10 V (the library's
 *                          declarations say 100 V)
 *   -DBAD_DESCRIBE         describe() writes declarations that are not JSON
 *
 * Every build exports testplugin_writes() and testplugin_open_devices(): how many set() and
 * action() calls reached the library, and how many devices are open now, so tests can check
 * from C that a refused value never reached it and that every handle was released.
 */
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <unistd.h>
#endif

#include "labkit_plugin.h"

#if defined(__GNUC__)
#define MAYBE_UNUSED __attribute__((unused))
#else
#define MAYBE_UNUSED
#endif

#ifdef BAD_JSON
#define DECLARATIONS "{\"labkit_declarations\": 1, \"declarations\": [ {\"role\": "
#elif defined(BAD_DECLARATIONS)
#define DECLARATIONS                                                                      \
    "{\"labkit_declarations\": 1, \"declarations\": [{\"role\": \"setting\", \"name\":" \
    " \"range\", \"unit\": \"V\", \"min\": 10, \"max\": 1, \"doc\": \"Range\"}]}"
#else
#define DECLARATIONS                                                                            \
    "{\"labkit_declarations\": 1, \"test_resource\": \"meter://selftest\", \"declarations\": [" \
    "{\"role\": \"setting\", \"name\": \"range\", \"unit\": \"V\", \"min\": 0.1, \"max\": 100,"  \
    " \"safe\": 100, \"doc\": \"Input range\"},"                                                \
    "{\"role\": \"setting\", \"name\": \"gain\", \"kind\": \"int\", \"min\": 1, \"max\": 8,"     \
    " \"doc\": \"Gain\"},"                                                                      \
    "{\"role\": \"setting\", \"name\": \"label\", \"kind\": \"str\", \"doc\": \"A label\"},"   \
    "{\"role\": \"reading\", \"name\": \"signal\", \"unit\": \"V\", \"doc\": \"The signal\"},"  \
    "{\"role\": \"action\", \"name\": \"zero\", \"doc\": \"Zero the input\"}]}"
#endif

struct labkit_device {
    double range;
    int64_t gain;
    char label[64];
    int zeroed;
    char message[128];
};

static _Thread_local char open_message[128];

/* What reached the library, counted where labkit cannot fake it (any thread: atomics). */
static long writes;
static long open_devices;

LABKIT_PLUGIN_EXPORT long testplugin_writes(void) { return __atomic_load_n(&writes, __ATOMIC_SEQ_CST); }

LABKIT_PLUGIN_EXPORT long testplugin_open_devices(void)
{
    return __atomic_load_n(&open_devices, __ATOMIC_SEQ_CST);
}

#ifdef CRASH_IN_CONSTRUCTOR
__attribute__((constructor)) static void crash_on_load(void)
{
    volatile int *volatile nothing = NULL; /* the compiler cannot prove it NULL */
    *nothing = 1;
}
#endif

static labkit_status meter_open(const char *resource, labkit_device **out)
{
#ifdef CRASH_IN_OPEN
    volatile int *volatile nothing = NULL; /* the compiler cannot prove it NULL */
    *nothing = (int)strlen(resource);
#endif
#ifdef OPEN_FAILS
    labkit_copy_message(open_message, sizeof open_message,
                        "the meter's USB cable is unplugged (simulated failure)");
    return LABKIT_ERROR_NO_DEVICE;
#endif
    if (strncmp(resource, "meter://", 8) != 0) {
        labkit_copy_message(open_message, sizeof open_message, "resources are meter://NAME");
        return LABKIT_ERROR_BAD_RESOURCE;
    }
    labkit_device *device = calloc(1, sizeof *device);
    if (device == NULL) return LABKIT_ERROR_NO_MEMORY;
#ifdef NARROW_DEVICE
    device->range = 10.0;
#else
    device->range = 100.0;
#endif
    device->gain = 1;
    strcpy(device->label, "meter");
    *out = device;
    __atomic_add_fetch(&open_devices, 1, __ATOMIC_SEQ_CST);
    return LABKIT_OK;
}

static labkit_status meter_close(labkit_device *device)
{
    __atomic_sub_fetch(&open_devices, 1, __ATOMIC_SEQ_CST);
    free(device);
    return LABKIT_OK;
}

static labkit_status meter_set(labkit_device *device, const char *name, const labkit_value *value)
{
    __atomic_add_fetch(&writes, 1, __ATOMIC_SEQ_CST);
    if (strcmp(name, "range") == 0) {
        device->range = value->as.f;
    } else if (strcmp(name, "gain") == 0) {
        device->gain = value->as.i;
    } else if (strcmp(name, "label") == 0) {
        if (value->as.text.size >= sizeof device->label) {
            labkit_copy_message(device->message, sizeof device->message, "label too long");
            return LABKIT_ERROR_REFUSED;
        }
        memcpy(device->label, value->as.text.data, value->as.text.size + 1);
    } else {
        return LABKIT_ERROR_UNKNOWN_NAME;
    }
    return LABKIT_OK;
}

static labkit_status meter_get(labkit_device *device, const char *name, labkit_value *value)
{
    if (strcmp(name, "range") == 0) {
        value->as.f = device->range;
    } else if (strcmp(name, "gain") == 0) {
        value->as.i = device->gain;
    } else if (strcmp(name, "label") == 0) {
#ifdef LONG_TEXT
        static char long_label[1000];
        memset(long_label, 'x', sizeof long_label - 1);
        return labkit_put_text(&value->as.text, long_label);
#elif defined(LYING_TEXT)
        value->as.text.size = value->as.text.size + 10;
        return LABKIT_OK;
#else
        return labkit_put_text(&value->as.text, device->label);
#endif
    } else {
        return LABKIT_ERROR_UNKNOWN_NAME;
    }
    return LABKIT_OK;
}

MAYBE_UNUSED static labkit_status meter_read(labkit_device *device, const char *name, labkit_value *value)
{
#ifdef BAD_STATUS
    (void)device; (void)name; (void)value;
    return 42;
#else
    if (strcmp(name, "signal") != 0) return LABKIT_ERROR_UNKNOWN_NAME;
    value->as.f = device->zeroed ? 0.0 : device->range * (double)device->gain / 100.0;
    return LABKIT_OK;
#endif
}

static labkit_status meter_action(labkit_device *device, const char *name)
{
    __atomic_add_fetch(&writes, 1, __ATOMIC_SEQ_CST);
    if (strcmp(name, "zero") != 0) return LABKIT_ERROR_UNKNOWN_NAME;
    device->zeroed = 1;
    return LABKIT_OK;
}

static int32_t meter_last_error(const labkit_device *device, char *message, size_t size)
{
    labkit_copy_message(message, size, device ? device->message : open_message);
    return device ? 7 : 0;
}

#if defined(NARROW_DEVICE) || defined(BAD_DESCRIBE)
static labkit_status meter_describe(labkit_device *device, labkit_text *json)
{
    (void)device;
#ifdef BAD_DESCRIBE
    return labkit_put_text(json, "{\"labkit_declarations\": 1, \"declarations\": [");
#else
    return labkit_put_text(
        json,
        "{\"labkit_declarations\": 1, \"declarations\": ["
        "{\"role\": \"setting\", \"name\": \"range\", \"unit\": \"V\", \"min\": 0.1,"
        " \"max\": 10, \"safe\": 10, \"doc\": \"Input range (this model: up to 10 V)\"},"
        "{\"role\": \"setting\", \"name\": \"gain\", \"kind\": \"int\", \"min\": 1,"
        " \"max\": 8, \"doc\": \"Gain\"},"
        "{\"role\": \"setting\", \"name\": \"label\", \"kind\": \"str\", \"doc\": \"A label\"},"
        "{\"role\": \"reading\", \"name\": \"signal\", \"unit\": \"V\", \"doc\": \"The signal\"},"
        "{\"role\": \"action\", \"name\": \"zero\", \"doc\": \"Zero the input\"}]}");
#endif
}
#endif

MAYBE_UNUSED static const labkit_plugin meter = {
#ifdef WRONG_ABI
    .abi_version = (2u << 16) | 0u,
#else
    .abi_version = LABKIT_PLUGIN_ABI_VERSION,
#endif
#ifdef SMALL_TABLE
    .struct_size = 40,
#else
    .struct_size = sizeof(labkit_plugin),
#endif
    .name = "meter",
    .version = "1.0",
    .description = "A test meter",
    .declarations = DECLARATIONS,
    .open = meter_open,
    .close = meter_close,
    .set = meter_set,
    .get = meter_get,
#ifndef NULL_READ
    .read = meter_read,
#endif
    .action = meter_action,
    .last_error = meter_last_error,
#if defined(NARROW_DEVICE) || defined(BAD_DESCRIBE)
    .describe = meter_describe,
#endif
};

#ifdef NO_ENTRY
__attribute__((visibility("hidden")))
#else
LABKIT_PLUGIN_EXPORT
#endif
const labkit_plugin *labkit_plugin_entry(uint32_t host_abi_version)
{
#ifdef CRASH_IN_ENTRY
    volatile int *volatile nothing = NULL; /* the compiler cannot prove it NULL */
    *nothing = (int)host_abi_version;
#endif
#ifdef HANG_IN_ENTRY
    for (;;) pause();
#endif
#ifdef DECLINE_ABI
    (void)host_abi_version;
    return NULL;
#else
    (void)host_abi_version;
    return &meter;
#endif
}
