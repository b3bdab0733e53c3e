// A compiled labkit driver plugin in C++: a simulated six-position filter wheel.
//
//   INCLUDE=$(python -c 'import labkit; print(labkit.plugin_include_dir())')
//   g++ -std=c++17 -shared -fPIC -fvisibility=hidden -I "$INCLUDE" filter_wheel.cpp -o libfilter_wheel.so
//
// What C++ must take care of at the C boundary: every function is extern "C" with C types only,
// and no exception crosses it (each call catches and turns it into a status and a message).

#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>

#include "labkit_plugin.h"

namespace {

const char *const kDeclarations = R"json({
  "labkit_declarations": 1,
  "test_resource": "wheel://selftest",
  "declarations": [
    {"role": "setting", "name": "filter", "kind": "enum",
     "choices": ["open", "ND1", "ND2", "red", "green", "blue"], "safe": "ND2",
     "doc": "The filter in the beam"},
    {"role": "setting", "name": "speed", "kind": "int", "min": 1, "max": 5,
     "doc": "Rotation speed (1 slow ... 5 fast)"},
    {"role": "reading", "name": "moves", "kind": "int", "doc": "Moves since power-on"},
    {"role": "action", "name": "home", "doc": "Find the index mark and go to position 1"}
  ]
})json";

const char *const kFilters[] = {"open", "ND1", "ND2", "red", "green", "blue"};

struct Wheel {  // the simulated hardware: survives the handles that open it
    int position = 0;
    long long speed = 3;
    long long moves = 0;
    bool in_use = false;
};

std::mutex registry_lock;
std::map<std::string, Wheel> &registry() {
    static std::map<std::string, Wheel> wheels;  // destroyed when the library is unloaded
    return wheels;
}

thread_local std::string open_error;

}  // namespace

struct labkit_device {
    Wheel *wheel;
    std::string error;
    int32_t code = 0;
};

namespace {

// Run `body`; turn an exception into LABKIT_ERROR with its message (nothing crosses into C).
template <typename Body>
labkit_status guarded(labkit_device *device, Body body) {
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return LABKIT_ERROR_NO_MEMORY;
    } catch (const std::exception &error) {
        device->error = error.what();
        device->code = 0;
        return LABKIT_ERROR;
    }
}

labkit_status refuse(labkit_device *device, labkit_status status, std::string message) {
    device->error = std::move(message);
    device->code = 0;
    return status;
}

labkit_status wheel_open(const char *resource, labkit_device **out) {
    try {
        const std::string address(resource);
        if (address.rfind("wheel://", 0) != 0 || address.size() == 8) {
            open_error = "resources are wheel://NAME";
            return LABKIT_ERROR_BAD_RESOURCE;
        }
        std::lock_guard<std::mutex> hold(registry_lock);
        Wheel &wheel = registry()[address];
        if (wheel.in_use) {
            open_error = address + " is already open";
            return LABKIT_ERROR_REFUSED;
        }
        wheel.in_use = true;
        *out = new labkit_device{&wheel, {}, 0};
        return LABKIT_OK;
    } catch (const std::exception &error) {
        open_error = error.what();
        return LABKIT_ERROR;
    }
}

labkit_status wheel_close(labkit_device *device) {
    {
        std::lock_guard<std::mutex> hold(registry_lock);
        device->wheel->in_use = false;
    }
    delete device;
    return LABKIT_OK;
}

labkit_status wheel_set(labkit_device *device, const char *name, const labkit_value *value) {
    return guarded(device, [&]() -> labkit_status {
        Wheel &wheel = *device->wheel;
        if (std::strcmp(name, "filter") == 0 && value->kind == LABKIT_TEXT) {
            for (int i = 0; i < 6; ++i) {
                if (std::strcmp(value->as.text.data, kFilters[i]) == 0) {
                    wheel.moves += wheel.position != i;
                    wheel.position = i;
                    return LABKIT_OK;
                }
            }
            return refuse(device, LABKIT_ERROR_REFUSED, "no such filter");
        }
        if (std::strcmp(name, "speed") == 0 && value->kind == LABKIT_INT) {
            wheel.speed = value->as.i;
            return LABKIT_OK;
        }
        return refuse(device, LABKIT_ERROR_UNKNOWN_NAME, std::string("no setting ") + name);
    });
}

labkit_status wheel_get(labkit_device *device, const char *name, labkit_value *value) {
    return guarded(device, [&]() -> labkit_status {
        if (std::strcmp(name, "filter") == 0 && value->kind == LABKIT_TEXT)
            return labkit_put_text(&value->as.text, kFilters[device->wheel->position]);
        if (std::strcmp(name, "speed") == 0 && value->kind == LABKIT_INT) {
            value->as.i = device->wheel->speed;
            return LABKIT_OK;
        }
        return refuse(device, LABKIT_ERROR_UNKNOWN_NAME, std::string("no setting ") + name);
    });
}

labkit_status wheel_read(labkit_device *device, const char *name, labkit_value *value) {
    return guarded(device, [&]() -> labkit_status {
        if (std::strcmp(name, "moves") != 0 || value->kind != LABKIT_INT)
            return refuse(device, LABKIT_ERROR_UNKNOWN_NAME, std::string("no reading ") + name);
        value->as.i = device->wheel->moves;
        return LABKIT_OK;
    });
}

labkit_status wheel_action(labkit_device *device, const char *name) {
    return guarded(device, [&]() -> labkit_status {
        if (std::strcmp(name, "home") != 0)
            return refuse(device, LABKIT_ERROR_UNKNOWN_NAME, std::string("no action ") + name);
        device->wheel->moves += device->wheel->position != 0;
        device->wheel->position = 0;
        return LABKIT_OK;
    });
}

int32_t wheel_last_error(const labkit_device *device, char *message, size_t size) {
    labkit_copy_message(message, size, device ? device->error.c_str() : open_error.c_str());
    return device ? device->code : 0;
}

labkit_plugin make_table() {
    labkit_plugin table{};  // every field zero: reserved slots and optional functions NULL
    table.abi_version = LABKIT_PLUGIN_ABI_VERSION;
    table.struct_size = sizeof(labkit_plugin);
    table.name = "filter_wheel";
    table.version = "0.1.0";
    table.description = "Six-position filter wheel, simulated (C++ example plugin)";
    table.declarations = kDeclarations;
    table.open = wheel_open;
    table.close = wheel_close;
    table.set = wheel_set;
    table.get = wheel_get;
    table.read = wheel_read;
    table.action = wheel_action;
    table.last_error = wheel_last_error;
    return table;
}

const labkit_plugin kTable = make_table();

}  // namespace

extern "C" LABKIT_PLUGIN_EXPORT const labkit_plugin *labkit_plugin_entry(uint32_t host_abi) {
    return (host_abi >> 16) == LABKIT_PLUGIN_ABI_MAJOR ? &kTable : nullptr;
}
