/* Error codes and messages: pl_error_code, pl_error_message.
 *
 * The codes and names are the vendor's (reference/pvcam-errors.md, PVCAM 3.10); the texts are
 * the simulator's. PVCAM resets the last error at the start of every call and keeps the code of
 * the last failure; a message is a sentence without a final period, the code's name in
 * parentheses, and, as the vendor's library does, a detail after it for the last failure of the
 * calling thread ("Invalid mode (PL_ERR_MODE_INVALID). The exposure mode is not supported by
 * this camera"). The last error is thread-local, so that a frame-reading thread and a control
 * thread never see each other's failures.
 */
#include "pvsim.h"

#include <stdio.h>
#include <string.h>

static _Thread_local int16 last_error = PL_ERR_NONE;
static _Thread_local const char *last_detail = NULL;

typedef struct error_entry {
    pl_error_code_t code;
    const char *name;
    const char *text;
} error_entry;

static const error_entry errors[] = {
    {PL_ERR_NONE, "PL_ERR_NONE", "No error"},
    {PL_ERR_BC_STATUS_INVALID_BLOCK_NUM, "PL_ERR_BC_STATUS_INVALID_BLOCK_NUM", "Invalid block number in the status request"},
    {PL_ERR_BC_UNSUPPORTED_TARGET, "PL_ERR_BC_UNSUPPORTED_TARGET", "The target is not supported"},
    {PL_ERR_BC_INVALID_TARGET, "PL_ERR_BC_INVALID_TARGET", "Invalid target"},
    {PL_ERR_BC_TIMEOUT, "PL_ERR_BC_TIMEOUT", "The camera did not answer in time"},
    {PL_ERR_BC_INVALID_OPCODE, "PL_ERR_BC_INVALID_OPCODE", "Invalid operation code"},
    {PL_ERR_BC_INVALID_LENGTH, "PL_ERR_BC_INVALID_LENGTH", "Invalid message length"},
    {PL_ERR_BC_INVALID_PARAMETER, "PL_ERR_BC_INVALID_PARAMETER", "Invalid parameter in the camera message"},
    {PL_ERR_BC_INVALID_CAM_SPEED, "PL_ERR_BC_INVALID_CAM_SPEED", "Invalid camera speed"},
    {PL_ERR_BC_NO_MEMORY, "PL_ERR_BC_NO_MEMORY", "The camera is out of memory"},
    {PL_ERR_BC_LOCK_FAILED, "PL_ERR_BC_LOCK_FAILED", "The camera could not be locked"},
    {PL_ERR_BC_CHANNEL_USED, "PL_ERR_BC_CHANNEL_USED", "The channel is already in use"},
    {PL_ERR_BC_INVALID_CHANNEL, "PL_ERR_BC_INVALID_CHANNEL", "Invalid channel"},
    {PL_ERR_BC_NO_ISO_CHANNEL, "PL_ERR_BC_NO_ISO_CHANNEL", "No isochronous channel is available"},
    {PL_ERR_BC_NO_ISO_BANDWIDTH, "PL_ERR_BC_NO_ISO_BANDWIDTH", "Not enough isochronous bandwidth"},
    {PL_ERR_BC_INVALID_SPEED, "PL_ERR_BC_INVALID_SPEED", "Invalid speed"},
    {PL_ERR_BC_UNKNOWN_ERROR, "PL_ERR_BC_UNKNOWN_ERROR", "Unknown camera error"},
    {PL_ERR_BC_PROGRAMMING_FAILED, "PL_ERR_BC_PROGRAMMING_FAILED", "Camera programming failed"},
    {PL_ERR_BC_PARAMETER_PERMISSION, "PL_ERR_BC_PARAMETER_PERMISSION", "The camera does not permit access to the parameter"},
    {PL_ERR_BC_PENDING, "PL_ERR_BC_PENDING", "The camera request is still pending"},
    {PL_ERR_UNKNOWN, "PL_ERR_UNKNOWN", "Unknown error"},
    {PL_ERR_INSTALLATION_CORRUPTED, "PL_ERR_INSTALLATION_CORRUPTED", "The PVCAM installation is corrupted"},
    {PL_ERR_INSUFFICIENT_RESOURCES, "PL_ERR_INSUFFICIENT_RESOURCES", "Insufficient system resources"},
    {PL_ERR_NULL_POINTER, "PL_ERR_NULL_POINTER", "A required pointer argument is NULL"},
    {PL_ERR_NOT_AVAILABLE, "PL_ERR_NOT_AVAILABLE", "The feature is not available"},
    {PL_ERR_NOT_IMPLEMENTED, "PL_ERR_NOT_IMPLEMENTED", "The feature is not implemented"},
    {PL_ERR_ACCESS_DENIED, "PL_ERR_ACCESS_DENIED", "Access denied"},
    {PL_ERR_LIBRARY_NOT_INITIALIZED, "PL_ERR_LIBRARY_NOT_INITIALIZED", "The PVCAM library has not been initialized"},
    {PL_ERR_LIBRARY_ALREADY_INITIALIZED, "PL_ERR_LIBRARY_ALREADY_INITIALIZED", "The PVCAM library is already initialized"},
    {PL_ERR_PARAMETER_UNKNOWN, "PL_ERR_PARAMETER_UNKNOWN", "Unknown parameter"},
    {PL_ERR_PARAMETER_NOT_AVAILABLE, "PL_ERR_PARAMETER_NOT_AVAILABLE", "The parameter is not available"},
    {PL_ERR_PARAMETER_NOT_ENUM, "PL_ERR_PARAMETER_NOT_ENUM", "The parameter is not an enumeration"},
    {PL_ERR_ATTRIBUTE_UNKNOWN, "PL_ERR_ATTRIBUTE_UNKNOWN", "Unknown attribute"},
    {PL_ERR_ATTRIBUTE_NOT_AVAILABLE, "PL_ERR_ATTRIBUTE_NOT_AVAILABLE", "The attribute is not available for this parameter"},
    {PL_ERR_VALUE_INVALID, "PL_ERR_VALUE_INVALID", "Invalid value"},
    {PL_ERR_VALUE_OUT_OF_RANGE, "PL_ERR_VALUE_OUT_OF_RANGE", "The value is out of range"},
    {PL_ERR_VALUE_SET_FAILED, "PL_ERR_VALUE_SET_FAILED", "The value could not be set"},
    {PL_ERR_VALUE_REFUSED_BY_DEVICE, "PL_ERR_VALUE_REFUSED_BY_DEVICE", "The device refused the value"},
    {PL_ERR_DATA_INVALID, "PL_ERR_DATA_INVALID", "Invalid data"},
    {PL_ERR_DATA_NOT_AVAILABLE_YET, "PL_ERR_DATA_NOT_AVAILABLE_YET", "The data is not available yet"},
    {PL_ERR_DATA_PROCESSING_FAILED, "PL_ERR_DATA_PROCESSING_FAILED", "Data processing failed"},
    {PL_ERR_BUFFER_SIZE_INVALID, "PL_ERR_BUFFER_SIZE_INVALID", "Invalid buffer size"},
    {PL_ERR_BUFFER_TOO_SMALL, "PL_ERR_BUFFER_TOO_SMALL", "The buffer is too small"},
    {PL_ERR_BUFFER_OVERRUN, "PL_ERR_BUFFER_OVERRUN", "Buffer overrun"},
    {PL_ERR_BUFFER_MALFORMED, "PL_ERR_BUFFER_MALFORMED", "The buffer is malformed"},
    {PL_ERR_DEVICE_HANDLE_INVALID, "PL_ERR_DEVICE_HANDLE_INVALID", "Invalid camera handle"},
    {PL_ERR_DEVICE_NAME_UNKNOWN, "PL_ERR_DEVICE_NAME_UNKNOWN", "Unknown camera name"},
    {PL_ERR_DEVICE_NOT_OPEN, "PL_ERR_DEVICE_NOT_OPEN", "The camera is not open"},
    {PL_ERR_DEVICE_ALREADY_OPEN, "PL_ERR_DEVICE_ALREADY_OPEN", "The camera is already open"},
    {PL_ERR_DEVICE_CONFIGURATION_INVALID, "PL_ERR_DEVICE_CONFIGURATION_INVALID", "Invalid camera configuration"},
    {PL_ERR_DEVICE_REMOVED, "PL_ERR_DEVICE_REMOVED", "The camera has been removed"},
    {PL_ERR_REGION_INVALID, "PL_ERR_REGION_INVALID", "Invalid region"},
    {PL_ERR_BINNING_INVALID, "PL_ERR_BINNING_INVALID", "Invalid binning"},
    {PL_ERR_MODE_INVALID, "PL_ERR_MODE_INVALID", "Invalid mode"},
    {PL_ERR_STATE_INVALID, "PL_ERR_STATE_INVALID", "The request is invalid in the current state"},
    {PL_ERR_CONFIGURATION_INVALID, "PL_ERR_CONFIGURATION_INVALID", "Invalid configuration"},
    {PL_ERR_INDEX_OUT_OF_RANGE, "PL_ERR_INDEX_OUT_OF_RANGE", "The index is out of range"},
    {PL_ERR_EXPOSURE_OUT_OF_RANGE, "PL_ERR_EXPOSURE_OUT_OF_RANGE", "The exposure time is out of range"},
    {PL_ERR_ACQUISITION_SETUP_REQUIRED, "PL_ERR_ACQUISITION_SETUP_REQUIRED", "The acquisition must be set up first"},
    {PL_ERR_NO_SPEED_AVAILABLE, "PL_ERR_NO_SPEED_AVAILABLE", "No readout speed is available"},
    {PL_ERR_TOO_MANY_FRAMES, "PL_ERR_TOO_MANY_FRAMES", "Too many frames"},
    {PL_ERR_ZERO_FRAMES, "PL_ERR_ZERO_FRAMES", "Zero frames were requested"},
    {PL_ERR_METADATA_INVALID, "PL_ERR_METADATA_INVALID", "Invalid frame metadata"},
    {PL_ERR_DDI_LIBRARY_INCOMPATIBLE, "PL_ERR_DDI_LIBRARY_INCOMPATIBLE", "The driver interface library is incompatible"},
    {PL_ERR_DDI_DRIVER_INITIALIZATION_FAILED, "PL_ERR_DDI_DRIVER_INITIALIZATION_FAILED", "The driver could not be initialized"},
    {PL_ERR_DDI_DEVICE_OPEN_FAILED, "PL_ERR_DDI_DEVICE_OPEN_FAILED", "The driver could not open the device"},
    {PL_ERR_DDI_DEVICE_CLOSE_FAILED, "PL_ERR_DDI_DEVICE_CLOSE_FAILED", "The driver could not close the device"},
    {PL_ERR_DDI_DEVICE_READ_FAILED, "PL_ERR_DDI_DEVICE_READ_FAILED", "The driver could not read from the device"},
    {PL_ERR_DDI_DEVICE_WRITE_FAILED, "PL_ERR_DDI_DEVICE_WRITE_FAILED", "The driver could not write to the device"},
    {PL_ERR_DDI_DEVICE_IOCTL_FAILED, "PL_ERR_DDI_DEVICE_IOCTL_FAILED", "A driver I/O control request failed"},
    {PL_ERR_DDI_EVENT_WAIT_FAILED, "PL_ERR_DDI_EVENT_WAIT_FAILED", "Waiting for a driver event failed"},
    {PL_ERR_DDI_EVENT_RESET_FAILED, "PL_ERR_DDI_EVENT_RESET_FAILED", "Resetting a driver event failed"},
    {PL_ERR_DDI_EVENT_SET_FAILED, "PL_ERR_DDI_EVENT_SET_FAILED", "Setting a driver event failed"},
    {PL_ERR_DDI_EVENT_WAIT_TIMEOUT, "PL_ERR_DDI_EVENT_WAIT_TIMEOUT", "Waiting for a driver event timed out"},
};

typedef struct condition_entry {
    pvsim_error condition;
    pl_error_code_t code;
    const char *detail; /* NULL: the code says it all */
} condition_entry;

static const condition_entry conditions[PVSIM_E_COUNT] = {
    {PVSIM_E_NONE, PL_ERR_NONE, NULL},
    {PVSIM_E_NOT_INITIALIZED, PL_ERR_LIBRARY_NOT_INITIALIZED, NULL},
    {PVSIM_E_ALREADY_INITIALIZED, PL_ERR_LIBRARY_ALREADY_INITIALIZED, NULL},
    {PVSIM_E_NULL_POINTER, PL_ERR_NULL_POINTER, NULL},
    {PVSIM_E_OUT_OF_MEMORY, PL_ERR_INSUFFICIENT_RESOURCES, "Not enough memory for the request"},
    {PVSIM_E_INVALID_ARGUMENT, PL_ERR_VALUE_INVALID, "An argument has a value the function does not accept"},
    {PVSIM_E_INVALID_CAMERA_INDEX, PL_ERR_INDEX_OUT_OF_RANGE, "The camera index is out of range"},
    {PVSIM_E_CAMERA_NOT_FOUND, PL_ERR_DEVICE_NAME_UNKNOWN, "No camera with this name is connected"},
    {PVSIM_E_CAMERA_ALREADY_OPEN, PL_ERR_DEVICE_ALREADY_OPEN, NULL},
    {PVSIM_E_INVALID_HANDLE, PL_ERR_DEVICE_HANDLE_INVALID, "The handle is not that of an open camera"},
    {PVSIM_E_INVALID_OPEN_MODE, PL_ERR_MODE_INVALID, "The open mode is not supported"},
    {PVSIM_E_CAMERA_REMOVED, PL_ERR_DEVICE_REMOVED, "The camera was disconnected; close it and open it again once it is back"},
    {PVSIM_E_PARAM_NOT_SUPPORTED, PL_ERR_PARAMETER_UNKNOWN, "The camera does not know this parameter ID"},
    {PVSIM_E_PARAM_NOT_AVAILABLE, PL_ERR_PARAMETER_NOT_AVAILABLE, "The parameter is not available in the current camera configuration"},
    {PVSIM_E_INVALID_ATTRIBUTE, PL_ERR_ATTRIBUTE_NOT_AVAILABLE, "The attribute does not apply to this parameter"},
    {PVSIM_E_UNKNOWN_ATTRIBUTE, PL_ERR_ATTRIBUTE_UNKNOWN, NULL},
    {PVSIM_E_PARAM_READ_ONLY, PL_ERR_ACCESS_DENIED, "The parameter is read-only"},
    {PVSIM_E_VALUE_OUT_OF_RANGE, PL_ERR_VALUE_OUT_OF_RANGE, "The value is outside the parameter's range or not on its increment"},
    {PVSIM_E_ENUM_VALUE_INVALID, PL_ERR_VALUE_INVALID, "The value is not one of the parameter's enumerated values"},
    {PVSIM_E_PARAM_NOT_ENUM, PL_ERR_PARAMETER_NOT_ENUM, NULL},
    {PVSIM_E_ENUM_INDEX_OUT_OF_RANGE, PL_ERR_INDEX_OUT_OF_RANGE, "The enumeration index is out of range"},
    {PVSIM_E_BUFFER_TOO_SMALL, PL_ERR_BUFFER_TOO_SMALL, "The string buffer is too small for the value"},
    {PVSIM_E_REGION_INVALID, PL_ERR_REGION_INVALID, "A region lies outside the sensor, is empty or overlaps another region"},
    {PVSIM_E_BINNING_INVALID, PL_ERR_BINNING_INVALID, "The binning is not supported or differs between regions"},
    {PVSIM_E_TOO_MANY_REGIONS, PL_ERR_REGION_INVALID, "More regions were given than the camera supports"},
    {PVSIM_E_METADATA_REQUIRED, PL_ERR_CONFIGURATION_INVALID, "Several regions and centroids require frame metadata to be enabled"},
    {PVSIM_E_CENTROIDS_CONFLICT, PL_ERR_CONFIGURATION_INVALID, "Centroids need exactly one region, no binning, and patches that fit inside the region"},
    {PVSIM_E_EXPOSURE_MODE_INVALID, PL_ERR_MODE_INVALID, "The exposure mode is not supported by this camera"},
    {PVSIM_E_EXPOSURE_TIME_OUT_OF_RANGE, PL_ERR_EXPOSURE_OUT_OF_RANGE, NULL},
    {PVSIM_E_ACQUISITION_SETUP_REQUIRED, PL_ERR_ACQUISITION_SETUP_REQUIRED, NULL},
    {PVSIM_E_ACQUISITION_IN_PROGRESS, PL_ERR_STATE_INVALID, "The request is not allowed while an acquisition is running"},
    {PVSIM_E_ACQUISITION_NOT_RUNNING, PL_ERR_STATE_INVALID, "No acquisition of the required kind is running"},
    {PVSIM_E_SEQUENCE_TOO_LARGE, PL_ERR_TOO_MANY_FRAMES, "The sequence does not fit in a 4 GiB buffer"},
    {PVSIM_E_BUFFER_SIZE_INVALID, PL_ERR_BUFFER_SIZE_INVALID, "The buffer size is not a non-zero whole multiple of the frame size"},
    {PVSIM_E_NO_FRAME_AVAILABLE, PL_ERR_DATA_NOT_AVAILABLE_YET, NULL},
    {PVSIM_E_BUFFER_OVERRUN, PL_ERR_BUFFER_OVERRUN, "The circular buffer overran and frames were overwritten before they were released"},
    {PVSIM_E_READOUT_FAILED, PL_ERR_DDI_DEVICE_READ_FAILED, "The acquisition failed during readout"},
    {PVSIM_E_CALLBACK_EVENT_INVALID, PL_ERR_VALUE_INVALID, "The callback event is not supported"},
    {PVSIM_E_NOT_SOFTWARE_TRIGGERED, PL_ERR_MODE_INVALID, "The running acquisition does not use a software trigger mode"},
    {PVSIM_E_NOT_HARDWARE_TRIGGERED, PL_ERR_MODE_INVALID, "The running acquisition does not use an external trigger mode"},
    {PVSIM_E_ZERO_FRAMES, PL_ERR_ZERO_FRAMES, NULL},
    {PVSIM_E_SUMMING_CONFLICT, PL_ERR_CONFIGURATION_INVALID, "Host frame summing cannot be combined with centroids"},
};

static const error_entry *find_error(int16 code) {
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if ((int16)errors[i].code == code) return &errors[i];
    return NULL;
}

rs_bool pvsim_fail(pvsim_error condition) {
    const condition_entry *c = &conditions[condition < PVSIM_E_COUNT ? condition : 0];
    last_error = (int16)c->code;
    last_detail = c->detail;
    return PV_FAIL;
}

void pvsim_clear_error(void) {
    last_error = PL_ERR_NONE;
    last_detail = NULL;
}

PVSIM_EXPORT int16 pl_error_code(void) { return last_error; }

PVSIM_EXPORT rs_bool pl_error_message(int16 err_code, char *msg) {
    if (msg == NULL) return pvsim_fail(PVSIM_E_NULL_POINTER);
    const error_entry *e = find_error(err_code);
    if (e == NULL) {
        snprintf(msg, ERROR_MSG_LEN, "Unknown error");
        return PV_FAIL;
    }
    if (err_code == last_error && err_code != PL_ERR_NONE && last_detail != NULL)
        snprintf(msg, ERROR_MSG_LEN, "%s (%s). %s", e->text, e->name, last_detail);
    else
        snprintf(msg, ERROR_MSG_LEN, "%s (%s)", e->text, e->name);
    return PV_OK;
}
