/* The ACME PS-series bench supplies as a labkit compiled driver plugin (labkit_plugin.h).
 *
 * Resources: "sim://NAME[?model=PS-3005|PS-6010][&load=OHMS|open]" — a simulated supply (see
 * psu_sim.h) that keeps its state while the library is loaded, as a real one does while the
 * host disconnects. A real driver would parse its own resource form ("/dev/ttyUSB0",
 * "tcp://10.0.0.7:5025") here and talk to the instrument; nothing else would change.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labkit_plugin.h"
#include "psu_sim.h"

#if defined(_WIN32)
#include <windows.h>
typedef SRWLOCK registry_lock;
#define REGISTRY_LOCK_INIT SRWLOCK_INIT
#define lock_registry(l) AcquireSRWLockExclusive(l)
#define unlock_registry(l) ReleaseSRWLockExclusive(l)
#define THREAD_LOCAL __declspec(thread)
#else
#include <pthread.h>
typedef pthread_mutex_t registry_lock;
#define REGISTRY_LOCK_INIT PTHREAD_MUTEX_INITIALIZER
#define lock_registry(l) pthread_mutex_lock(l)
#define unlock_registry(l) pthread_mutex_unlock(l)
#define THREAD_LOCAL _Thread_local
#endif

#define NAME_MAX_LENGTH 63
#define MESSAGE_SIZE 256

/* Error codes of the supply itself, reported by last_error() beside the message. */
enum { E_NONE = 0, E_SYNTAX = 101, E_NO_SUPPLY = 102, E_IN_USE = 103, E_TRIPPED = 201,
       E_RANGE = 222, E_UNKNOWN = 113 };

/* ------------------------------------------------------------------------ declarations */

#define STR_(x) #x
#define STR(x) STR_(x)

/* One document per model: the limits differ, nothing else. */
#define DECLARATIONS(VMAX, IMAX, OVPMAX)                                                      \
    "{\"labkit_declarations\": 1, \"test_resource\": \"sim://selftest\", \"declarations\": [" \
    "{\"role\": \"setting\", \"name\": \"output\", \"kind\": \"bool\", \"safe\": false,"       \
    " \"label\": \"Output\", \"doc\": \"Output relay: the load is connected when on\"},"       \
    "{\"role\": \"setting\", \"name\": \"voltage\", \"unit\": \"V\", \"min\": 0, \"max\": "    \
    STR(VMAX) ", \"step\": 0.001, \"safe\": 0, \"readback\": \"voltage_out\","                 \
    " \"doc\": \"Voltage set-point (constant-voltage regulation)\"},"                          \
    "{\"role\": \"setting\", \"name\": \"current_limit\", \"unit\": \"A\", \"min\": 0,"        \
    " \"max\": " STR(IMAX) ", \"step\": 0.0001, \"readback\": \"current_out\","                \
    " \"doc\": \"Current limit: above it the supply regulates current (constant current)\"},"  \
    "{\"role\": \"setting\", \"name\": \"ovp_level\", \"unit\": \"V\", \"min\": 1, \"max\": "  \
    STR(OVPMAX) ", \"step\": 0.01, \"label\": \"OVP level\","                                  \
    " \"doc\": \"Over-voltage protection: above this terminal voltage the output turns off"   \
    " and stays off until the protection is cleared\"},"                                       \
    "{\"role\": \"setting\", \"name\": \"sense\", \"kind\": \"enum\","                         \
    " \"choices\": [\"local\", \"remote\"], \"doc\": \"Where the voltage is regulated: at the" \
    " terminals (local) or at the load through the sense wires (remote)\"},"                   \
    "{\"role\": \"setting\", \"name\": \"averages\", \"kind\": \"int\", \"min\": 1,"           \
    " \"max\": 100, \"doc\": \"Readings averaged per measurement (less noise, slower)\"},"     \
    "{\"role\": \"reading\", \"name\": \"voltage_out\", \"unit\": \"V\","                      \
    " \"label\": \"Voltage out\", \"doc\": \"Measured voltage at the sense point\"},"          \
    "{\"role\": \"reading\", \"name\": \"current_out\", \"unit\": \"A\","                      \
    " \"label\": \"Current out\", \"doc\": \"Measured output current\"},"                      \
    "{\"role\": \"reading\", \"name\": \"mode\", \"kind\": \"enum\","                          \
    " \"choices\": [\"OFF\", \"CV\", \"CC\"], \"doc\": \"Regulation: output off, constant"      \
    " voltage or constant current\"},"                                                          \
    "{\"role\": \"reading\", \"name\": \"tripped\", \"kind\": \"bool\","                       \
    " \"label\": \"OVP tripped\", \"doc\": \"The over-voltage protection tripped and holds"     \
    " the output off\"},"                                                                       \
    "{\"role\": \"action\", \"name\": \"clear_protection\", \"label\": \"Clear OVP\","         \
    " \"doc\": \"Clear a tripped over-voltage protection (the output stays off)\"},"           \
    "{\"role\": \"action\", \"name\": \"reset\", \"label\": \"Reset\","                        \
    " \"confirm\": \"Reset the supply to its power-on state? The output turns off.\","         \
    " \"doc\": \"Power-on state: output off, 0 V, full current limit\"}"                       \
    "], \"x-acme-models\": [\"PS-3005\", \"PS-6010\"]}"

static const char ps3005_declarations[] = DECLARATIONS(30, 5, 33);
static const char ps6010_declarations[] = DECLARATIONS(60, 10, 66);

static const char *declarations_of(const psu_model *model)
{
    return strcmp(model->name, "PS-6010") == 0 ? ps6010_declarations : ps3005_declarations;
}

/* ------------------------------------------------------------------------ the supplies */

/* Every simulated supply made so far, by name: they outlive the handles that open them. */
typedef struct supply {
    struct supply *next;
    char name[NAME_MAX_LENGTH + 1];
    psu_state state;
    int in_use;
} supply;

static registry_lock registry = REGISTRY_LOCK_INIT;
static supply *supplies = NULL;

struct labkit_device {
    supply *supply;
    char message[MESSAGE_SIZE];
    int32_t code;
};

/* The last failed open() of each thread (labkit_plugin.h: last_error(NULL, ...)). */
static THREAD_LOCAL char open_message[MESSAGE_SIZE];
static THREAD_LOCAL int32_t open_code;

static labkit_status open_failed(labkit_status status, int32_t code, const char *format,
                                 const char *detail)
{
    snprintf(open_message, sizeof open_message, format, detail);
    open_code = code;
    return status;
}

static labkit_status fail(labkit_device *device, labkit_status status, int32_t code,
                          const char *message)
{
    labkit_copy_message(device->message, sizeof device->message, message);
    device->code = code;
    return status;
}

static uint64_t seed_of(const char *name)
{
    uint64_t hash = 1469598103934665603ull; /* FNV-1a */
    for (; *name; name++) hash = (hash ^ (unsigned char)*name) * 1099511628211ull;
    return hash;
}

/* "sim://NAME?model=PS-6010&load=10" -> name, model, load (<= 0: open). */
static labkit_status parse_resource(const char *resource, char *name, const psu_model **model,
                                    double *load)
{
    static const char scheme[] = "sim://";
    const char *p, *end;
    size_t length;
    *model = psu_find_model(NULL);
    *load = 10.0;
    if (strncmp(resource, scheme, sizeof scheme - 1) != 0) {
        return open_failed(LABKIT_ERROR_NO_DEVICE, E_NO_SUPPLY,
                           "no ACME supply at %s: this example drives simulated supplies only; "
                           "use sim://NAME",
                           resource);
    }
    p = resource + sizeof scheme - 1;
    end = strchr(p, '?');
    length = end ? (size_t)(end - p) : strlen(p);
    if (length == 0 || length > NAME_MAX_LENGTH || strspn(p, "abcdefghijklmnopqrstuvwxyz"
                                                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                              "0123456789_-") < length) {
        return open_failed(LABKIT_ERROR_BAD_RESOURCE, E_SYNTAX,
                           "%s: the name after sim:// must be 1 to 63 letters, digits, _ or -",
                           resource);
    }
    memcpy(name, p, length);
    name[length] = '\0';
    while (end != NULL) {
        char key[16], value[32];
        const char *item = end + 1, *equals = strchr(item, '=');
        const char *stop;
        end = strchr(item, '&');
        stop = end ? end : item + strlen(item);
        if (equals == NULL || equals > stop || (size_t)(equals - item) >= sizeof key ||
            (size_t)(stop - equals - 1) >= sizeof value) {
            return open_failed(LABKIT_ERROR_BAD_RESOURCE, E_SYNTAX,
                               "%s: options are written ?model=PS-3005&load=10", resource);
        }
        memcpy(key, item, (size_t)(equals - item));
        key[equals - item] = '\0';
        memcpy(value, equals + 1, (size_t)(stop - equals - 1));
        value[stop - equals - 1] = '\0';
        if (strcmp(key, "model") == 0) {
            *model = psu_find_model(value);
            if (*model == NULL) {
                return open_failed(LABKIT_ERROR_BAD_RESOURCE, E_SYNTAX,
                                   "unknown model %s (this plugin knows PS-3005 and PS-6010)",
                                   value);
            }
        } else if (strcmp(key, "load") == 0) {
            char *after;
            if (strcmp(value, "open") == 0) {
                *load = 0.0;
                continue;
            }
            errno = 0;
            *load = strtod(value, &after);
            if (errno != 0 || *after != '\0' || !(*load > 0.0) || !isfinite(*load)) {
                return open_failed(LABKIT_ERROR_BAD_RESOURCE, E_SYNTAX,
                                   "load=%s: give the load in ohms (> 0) or load=open", value);
            }
        } else {
            return open_failed(LABKIT_ERROR_BAD_RESOURCE, E_SYNTAX,
                               "unknown option %s (model=, load=)", key);
        }
    }
    return LABKIT_OK;
}

static labkit_status psu_open(const char *resource, labkit_device **out)
{
    char name[NAME_MAX_LENGTH + 1];
    const psu_model *model;
    double load;
    labkit_status status = parse_resource(resource, name, &model, &load);
    supply *found;
    labkit_device *device;
    if (status != LABKIT_OK) {
        return status;
    }
    device = calloc(1, sizeof *device);
    if (device == NULL) {
        return open_failed(LABKIT_ERROR_NO_MEMORY, E_NONE, "out of memory opening %s", resource);
    }
    lock_registry(&registry);
    for (found = supplies; found != NULL; found = found->next) {
        if (strcmp(found->name, name) == 0) break;
    }
    if (found != NULL && found->in_use) {
        unlock_registry(&registry);
        free(device);
        return open_failed(LABKIT_ERROR_REFUSED, E_IN_USE,
                           "sim://%s is already open (one host at a time, as on a serial port)",
                           name);
    }
    if (found != NULL && found->state.model != model) {
        const char *existing = found->state.model->name;
        unlock_registry(&registry);
        free(device);
        return open_failed(LABKIT_ERROR_REFUSED, E_IN_USE,
                           "this simulated supply is a %s; leave model= out or name another",
                           existing);
    }
    if (found == NULL) {
        found = calloc(1, sizeof *found);
        if (found == NULL) {
            unlock_registry(&registry);
            free(device);
            return open_failed(LABKIT_ERROR_NO_MEMORY, E_NONE, "out of memory opening %s",
                               resource);
        }
        strcpy(found->name, name);
        psu_reset(&found->state, model, load, seed_of(name));
        found->next = supplies;
        supplies = found;
    } else {
        found->state.load_ohms = load; /* another load on the bench this time */
    }
    found->in_use = 1;
    unlock_registry(&registry);
    device->supply = found;
    *out = device;
    return LABKIT_OK;
}

static labkit_status psu_close(labkit_device *device)
{
    lock_registry(&registry);
    device->supply->in_use = 0;
    unlock_registry(&registry);
    free(device);
    return LABKIT_OK;
}

/* Drop every simulated supply when the library is unloaded. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((destructor)) static void forget_supplies(void)
{
    while (supplies != NULL) {
        supply *next = supplies->next;
        free(supplies);
        supplies = next;
    }
}
#endif

/* ------------------------------------------------------------------------ values */

static labkit_status expect(labkit_device *device, const labkit_value *value, int32_t kind,
                            const char *name)
{
    char message[MESSAGE_SIZE];
    if (value->kind == kind) return LABKIT_OK;
    snprintf(message, sizeof message, "%s takes another kind of value (got kind %d)", name,
             (int)value->kind);
    return fail(device, LABKIT_ERROR_WRONG_KIND, E_SYNTAX, message);
}

static labkit_status range_error(labkit_device *device, const char *name, double value,
                                 double low, double high, const char *unit)
{
    char message[MESSAGE_SIZE];
    snprintf(message, sizeof message, "%s %g %s is outside %g to %g %s", name, value, unit, low,
             high, unit);
    return fail(device, LABKIT_ERROR_REFUSED, E_RANGE, message);
}

static labkit_status psu_set(labkit_device *device, const char *name, const labkit_value *value)
{
    psu_state *psu = &device->supply->state;
    const psu_model *model = psu->model;
    labkit_status status;
    if (strcmp(name, "output") == 0) {
        if ((status = expect(device, value, LABKIT_BOOL, name)) != LABKIT_OK) return status;
        if (value->as.b && psu->tripped) {
            char message[MESSAGE_SIZE];
            snprintf(message, sizeof message,
                     "the over-voltage protection tripped at %.3f V and holds the output off; "
                     "clear it first (clear_protection)",
                     psu->tripped_at);
            return fail(device, LABKIT_ERROR_REFUSED, E_TRIPPED, message);
        }
        psu->output = value->as.b != 0;
    } else if (strcmp(name, "voltage") == 0) {
        if ((status = expect(device, value, LABKIT_FLOAT, name)) != LABKIT_OK) return status;
        if (!(value->as.f >= 0.0 && value->as.f <= model->v_max))
            return range_error(device, name, value->as.f, 0.0, model->v_max, "V");
        psu->voltage = psu_quantize_voltage(value->as.f);
    } else if (strcmp(name, "current_limit") == 0) {
        if ((status = expect(device, value, LABKIT_FLOAT, name)) != LABKIT_OK) return status;
        if (!(value->as.f >= 0.0 && value->as.f <= model->i_max))
            return range_error(device, name, value->as.f, 0.0, model->i_max, "A");
        psu->current_limit = psu_quantize_current(value->as.f);
    } else if (strcmp(name, "ovp_level") == 0) {
        if ((status = expect(device, value, LABKIT_FLOAT, name)) != LABKIT_OK) return status;
        if (!(value->as.f >= 1.0 && value->as.f <= model->ovp_max))
            return range_error(device, name, value->as.f, 1.0, model->ovp_max, "V");
        psu->ovp_level = round(value->as.f * 100.0) / 100.0;
    } else if (strcmp(name, "sense") == 0) {
        if ((status = expect(device, value, LABKIT_TEXT, name)) != LABKIT_OK) return status;
        if (strcmp(value->as.text.data, "local") == 0) {
            psu->remote_sense = 0;
        } else if (strcmp(value->as.text.data, "remote") == 0) {
            psu->remote_sense = 1;
        } else {
            return fail(device, LABKIT_ERROR_REFUSED, E_SYNTAX, "sense is local or remote");
        }
    } else if (strcmp(name, "averages") == 0) {
        if ((status = expect(device, value, LABKIT_INT, name)) != LABKIT_OK) return status;
        if (value->as.i < 1 || value->as.i > 100)
            return range_error(device, name, (double)value->as.i, 1, 100, "");
        psu->averages = value->as.i;
    } else {
        return fail(device, LABKIT_ERROR_UNKNOWN_NAME, E_UNKNOWN, "no such setting");
    }
    psu_check_protection(psu); /* a higher set-point or a lower OVP level may trip it */
    return LABKIT_OK;
}

static const char *mode_name(psu_mode mode)
{
    return mode == PSU_CV ? "CV" : mode == PSU_CC ? "CC" : "OFF";
}

static labkit_status psu_get(labkit_device *device, const char *name, labkit_value *value)
{
    psu_state *psu = &device->supply->state;
    if (strcmp(name, "output") == 0 && value->kind == LABKIT_BOOL) {
        value->as.b = psu->output;
    } else if (strcmp(name, "voltage") == 0 && value->kind == LABKIT_FLOAT) {
        value->as.f = psu->voltage;
    } else if (strcmp(name, "current_limit") == 0 && value->kind == LABKIT_FLOAT) {
        value->as.f = psu->current_limit;
    } else if (strcmp(name, "ovp_level") == 0 && value->kind == LABKIT_FLOAT) {
        value->as.f = psu->ovp_level;
    } else if (strcmp(name, "sense") == 0 && value->kind == LABKIT_TEXT) {
        labkit_status status =
            labkit_put_text(&value->as.text, psu->remote_sense ? "remote" : "local");
        if (status != LABKIT_OK) return fail(device, status, E_NONE, "text buffer too small");
    } else if (strcmp(name, "averages") == 0 && value->kind == LABKIT_INT) {
        value->as.i = psu->averages;
    } else {
        return fail(device, LABKIT_ERROR_UNKNOWN_NAME, E_UNKNOWN,
                    "no such setting of that kind");
    }
    return LABKIT_OK;
}

static labkit_status psu_read(labkit_device *device, const char *name, labkit_value *value)
{
    psu_state *psu = &device->supply->state;
    if (strcmp(name, "voltage_out") == 0 && value->kind == LABKIT_FLOAT) {
        value->as.f = psu_measure_voltage(psu);
    } else if (strcmp(name, "current_out") == 0 && value->kind == LABKIT_FLOAT) {
        value->as.f = psu_measure_current(psu);
    } else if (strcmp(name, "mode") == 0 && value->kind == LABKIT_TEXT) {
        labkit_status status = labkit_put_text(
            &value->as.text, mode_name(psu_operating_point(psu, NULL, NULL, NULL)));
        if (status != LABKIT_OK) return fail(device, status, E_NONE, "text buffer too small");
    } else if (strcmp(name, "tripped") == 0 && value->kind == LABKIT_BOOL) {
        value->as.b = psu->tripped;
    } else {
        return fail(device, LABKIT_ERROR_UNKNOWN_NAME, E_UNKNOWN,
                    "no such reading of that kind");
    }
    return LABKIT_OK;
}

static labkit_status psu_action(labkit_device *device, const char *name)
{
    psu_state *psu = &device->supply->state;
    if (strcmp(name, "clear_protection") == 0) {
        psu->tripped = 0;
        psu->tripped_at = 0.0;
    } else if (strcmp(name, "reset") == 0) {
        psu_reset(psu, psu->model, psu->load_ohms, psu->noise);
    } else {
        return fail(device, LABKIT_ERROR_UNKNOWN_NAME, E_UNKNOWN, "no such action");
    }
    return LABKIT_OK;
}

static int32_t psu_last_error(const labkit_device *device, char *message, size_t size)
{
    if (device == NULL) {
        labkit_copy_message(message, size, open_message);
        return open_code;
    }
    labkit_copy_message(message, size, device->message);
    return device->code;
}

static labkit_status psu_identify(labkit_device *device, labkit_text *json)
{
    char text[256];
    snprintf(text, sizeof text,
             "{\"manufacturer\": \"ACME\", \"model\": \"%s\", \"serial\": \"SIM-%s\","
             " \"firmware\": \"1.4.2\"}",
             device->supply->state.model->name, device->supply->name);
    return labkit_put_text(json, text);
}

static labkit_status psu_describe(labkit_device *device, labkit_text *json)
{
    return labkit_put_text(json, declarations_of(device->supply->state.model));
}

static const labkit_plugin acme_psu = {
    .abi_version = LABKIT_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(labkit_plugin),
    .name = "acme_psu",
    .version = "0.1.0",
    .description = "ACME PS-3005 / PS-6010 bench power supplies (simulated: sim://NAME)",
    .declarations = ps3005_declarations,
    .open = psu_open,
    .close = psu_close,
    .set = psu_set,
    .get = psu_get,
    .read = psu_read,
    .action = psu_action,
    .last_error = psu_last_error,
    .identify = psu_identify,
    .describe = psu_describe,
};

LABKIT_PLUGIN_DEFINE(acme_psu)
