/* Drives a compiled plugin from C, without Python, for the sanitizers and valgrind: dlopen,
 * the entry point, devices opened, used and closed (also from several threads at once), then
 * dlclose. The plugin's own code is built with the same sanitizer flags by the tests.
 *
 * Usage: harness LIBRARY < script
 *   open SLOT RESOURCE           (SLOT 0..7)      expect-open-fail RESOURCE
 *   set SLOT NAME f|i|b|t VALUE                    expect-set-fail SLOT NAME f|i|b|t VALUE
 *   get SLOT NAME f|i|b|t [BUFSIZE]                read SLOT NAME f|i|b|t [BUFSIZE]
 *   action SLOT NAME          identify SLOT        describe SLOT       close SLOT
 *   threads N ROUNDS RESOURCE-PREFIX   (N threads, each opening PREFIX<i>, setting and reading)
 * Prints what it read; exits non-zero on the first unexpected status.
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labkit_plugin.h"

static const labkit_plugin *table;
static labkit_device *slots[8];

static void fail(const char *what, labkit_status status, const labkit_device *device)
{
    char message[256];
    int32_t code = table->last_error(device, message, sizeof message);
    fprintf(stderr, "%s: status %d, code %d: %s\n", what, (int)status, (int)code, message);
    exit(1);
}

static int32_t kind_of(char letter)
{
    switch (letter) {
    case 'f': return LABKIT_FLOAT;
    case 'i': return LABKIT_INT;
    case 'b': return LABKIT_BOOL;
    default: return LABKIT_TEXT;
    }
}

static labkit_status put(labkit_device *device, const char *name, char kind, const char *text)
{
    labkit_value value = {0};
    char copy[256];
    value.kind = kind_of(kind);
    if (value.kind == LABKIT_FLOAT) value.as.f = strtod(text, NULL);
    else if (value.kind == LABKIT_INT) value.as.i = strtoll(text, NULL, 10);
    else if (value.kind == LABKIT_BOOL) value.as.b = atoi(text) != 0;
    else {
        snprintf(copy, sizeof copy, "%s", text);
        value.as.text.data = copy;
        value.as.text.size = strlen(copy);
    }
    return table->set(device, name, &value);
}

/* get or read, with the text buffer protocol: a small buffer first, then the size asked for. */
static labkit_status fetch(int reading, labkit_device *device, const char *name, char kind,
                           size_t first, char *out, size_t out_size)
{
    labkit_value value = {0};
    labkit_status status;
    char *buffer = NULL;
    value.kind = kind_of(kind);
    if (value.kind == LABKIT_TEXT) {
        buffer = malloc(first);
        value.as.text.data = buffer;
        value.as.text.size = first;
    }
    status = reading ? table->read(device, name, &value) : table->get(device, name, &value);
    if (status == LABKIT_ERROR_TEXT_TOO_LONG && buffer != NULL) {
        size_t needed = value.as.text.size + 1;
        free(buffer);
        buffer = malloc(needed);
        value.as.text.data = buffer;
        value.as.text.size = needed;
        status = reading ? table->read(device, name, &value) : table->get(device, name, &value);
    }
    if (status == LABKIT_OK) {
        if (value.kind == LABKIT_FLOAT) snprintf(out, out_size, "%.6g", value.as.f);
        else if (value.kind == LABKIT_INT) snprintf(out, out_size, "%lld", (long long)value.as.i);
        else if (value.kind == LABKIT_BOOL) snprintf(out, out_size, "%d", (int)value.as.b);
        else snprintf(out, out_size, "%s", buffer);
    }
    free(buffer);
    return status;
}

typedef struct worker { int index; int rounds; const char *prefix; int failed; } worker;

static void *work(void *argument)
{
    worker *w = argument;
    char resource[128], out[64];
    labkit_device *device = NULL;
    snprintf(resource, sizeof resource, "%s%d", w->prefix, w->index);
    if (table->open(resource, &device) != LABKIT_OK) { w->failed = 1; return NULL; }
    for (int round = 0; round < w->rounds; round++) {
        char volts[32];
        snprintf(volts, sizeof volts, "%d", round % 20);
        if (put(device, "voltage", 'f', volts) != LABKIT_OK ||
            fetch(1, device, "voltage_out", 'f', 0, out, sizeof out) != LABKIT_OK ||
            fetch(1, device, "mode", 't', 3, out, sizeof out) != LABKIT_OK) {
            w->failed = 1;
        }
    }
    table->close(device);
    return NULL;
}

int main(int argc, char **argv)
{
    char line[512];
    void *library;
    labkit_plugin_entry_fn entry;
    if (argc != 2) {
        fprintf(stderr, "usage: harness LIBRARY < script\n");
        return 2;
    }
    library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 1; }
    *(void **)&entry = dlsym(library, LABKIT_PLUGIN_ENTRY_SYMBOL);
    if (entry == NULL) { fprintf(stderr, "no entry point\n"); return 1; }
    table = entry(LABKIT_PLUGIN_ABI_VERSION);
    if (table == NULL || table->struct_size < sizeof(labkit_plugin)) return 1;
    while (fgets(line, sizeof line, stdin) != NULL) {
        char command[32] = "", a[128] = "", b[128] = "", c[8] = "", d[128] = "", out[4096];
        int slot = 0, n = sscanf(line, "%31s %127s %127s %7s %127[^\n]", command, a, b, c, d);
        labkit_status status;
        if (n < 1 || command[0] == '#') continue;
        slot = atoi(a) & 7;
        if (strcmp(command, "open") == 0) {
            if ((status = table->open(b, &slots[slot])) != LABKIT_OK) fail(line, status, NULL);
        } else if (strcmp(command, "expect-open-fail") == 0) {
            labkit_device *device = NULL;
            if ((status = table->open(a, &device)) == LABKIT_OK) { fprintf(stderr, "%s", line); return 1; }
            table->last_error(NULL, out, sizeof out);
            printf("open refused: %s\n", out);
        } else if (strcmp(command, "set") == 0) {
            if ((status = put(slots[slot], b, c[0], d)) != LABKIT_OK) fail(line, status, slots[slot]);
        } else if (strcmp(command, "expect-set-fail") == 0) {
            if ((status = put(slots[slot], b, c[0], d)) == LABKIT_OK) { fprintf(stderr, "%s", line); return 1; }
            table->last_error(slots[slot], out, 8); /* a small buffer: truncated, NUL-terminated */
            printf("set refused: %s\n", out);
        } else if (strcmp(command, "get") == 0 || strcmp(command, "read") == 0) {
            size_t first = n >= 5 ? (size_t)atoi(d) : 256;
            status = fetch(command[0] == 'r', slots[slot], b, c[0], first, out, sizeof out);
            if (status != LABKIT_OK) fail(line, status, slots[slot]);
            printf("%s %s = %s\n", command, b, out);
        } else if (strcmp(command, "action") == 0) {
            if ((status = table->action(slots[slot], b)) != LABKIT_OK) fail(line, status, slots[slot]);
        } else if (strcmp(command, "identify") == 0 || strcmp(command, "describe") == 0) {
            labkit_text text = {out, 2};  /* too small at first */
            labkit_status (*function)(labkit_device *, labkit_text *) =
                command[0] == 'i' ? table->identify : table->describe;
            status = function(slots[slot], &text);
            if (status == LABKIT_ERROR_TEXT_TOO_LONG) {
                text.data = out;
                text.size = sizeof out;
                status = function(slots[slot], &text);
            }
            if (status != LABKIT_OK) fail(line, status, slots[slot]);
            printf("%s: %zu bytes\n", command, text.size);
        } else if (strcmp(command, "close") == 0) {
            if ((status = table->close(slots[slot])) != LABKIT_OK) fail(line, status, NULL);
            slots[slot] = NULL;
        } else if (strcmp(command, "threads") == 0) {
            int count = 0, rounds = 0;
            char prefix[128] = "";
            pthread_t threads[16];
            worker workers[16];
            if (sscanf(line, "threads %d %d %127s", &count, &rounds, prefix) != 3) return 2;
            if (count > 16) count = 16;
            for (int i = 0; i < count; i++) {
                workers[i] = (worker){i, rounds, prefix, 0};
                pthread_create(&threads[i], NULL, work, &workers[i]);
            }
            for (int i = 0; i < count; i++) {
                pthread_join(threads[i], NULL);
                if (workers[i].failed) { fprintf(stderr, "thread %d failed\n", i); return 1; }
            }
            printf("threads: %d x %d rounds\n", count, rounds);
        } else {
            fprintf(stderr, "unknown command %s\n", command);
            return 2;
        }
    }
    if (dlclose(library) != 0) { fprintf(stderr, "dlclose: %s\n", dlerror()); return 1; }
    printf("unloaded\n");
    return 0;
}
