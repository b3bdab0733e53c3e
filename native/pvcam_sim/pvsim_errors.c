/* Error codes and messages: pl_error_code, pl_error_message.
 *
 * PVCAM resets the last error at the start of every call and keeps the code of the last failure;
 * messages are sentences without a final period that end with the code's name in parentheses
 * (reference §3.2). The last error is thread-local here, so that a frame-reading thread and a
 * control thread never see each other's failures.
 */
#include "pvsim.h"

#include <stdio.h>
#include <string.h>

static _Thread_local int16 last_error = PL_ERR_NONE;

typedef struct error_entry {
    pvsim_error code;
    const char *name;
    const char *text;
} error_entry;

static const error_entry errors[] = {
    {PL_ERR_NONE, "PL_ERR_NONE", "No error"},
    {PL_ERR_NOT_INITIALIZED, "PL_ERR_NOT_INITIALIZED",
     "The PVCAM library has not been initialized"},
    {PL_ERR_ALREADY_INITIALIZED, "PL_ERR_ALREADY_INITIALIZED",
     "The PVCAM library is already initialized"},
    {PL_ERR_NULL_POINTER, "PL_ERR_NULL_POINTER", "A required pointer argument is NULL"},
    {PL_ERR_OUT_OF_MEMORY, "PL_ERR_OUT_OF_MEMORY", "Not enough memory for the request"},
    {PL_ERR_INVALID_ARGUMENT, "PL_ERR_INVALID_ARGUMENT",
     "An argument has a value the function does not accept"},
    {PL_ERR_INVALID_CAMERA_INDEX, "PL_ERR_INVALID_CAMERA_INDEX",
     "The camera index is out of range"},
    {PL_ERR_CAMERA_NOT_FOUND, "PL_ERR_CAMERA_NOT_FOUND", "No camera with this name is connected"},
    {PL_ERR_CAMERA_ALREADY_OPEN, "PL_ERR_CAMERA_ALREADY_OPEN", "The camera is already open"},
    {PL_ERR_INVALID_HANDLE, "PL_ERR_INVALID_HANDLE",
     "The camera handle is invalid or the camera is not open"},
    {PL_ERR_INVALID_OPEN_MODE, "PL_ERR_INVALID_OPEN_MODE", "The open mode is not supported"},
    {PL_ERR_CAMERA_REMOVED, "PL_ERR_CAMERA_REMOVED", "The camera has been disconnected"},
    {PL_ERR_PARAM_NOT_SUPPORTED, "PL_ERR_PARAM_NOT_SUPPORTED",
     "The parameter is not supported by this camera"},
    {PL_ERR_PARAM_NOT_AVAILABLE, "PL_ERR_PARAM_NOT_AVAILABLE",
     "The parameter is not available in the current camera configuration"},
    {PL_ERR_INVALID_ATTRIBUTE, "PL_ERR_INVALID_ATTRIBUTE",
     "The attribute does not exist or does not apply to this parameter"},
    {PL_ERR_PARAM_READ_ONLY, "PL_ERR_PARAM_READ_ONLY", "The parameter is read-only"},
    {PL_ERR_VALUE_OUT_OF_RANGE, "PL_ERR_VALUE_OUT_OF_RANGE",
     "The value is outside the parameter's range or not on its increment"},
    {PL_ERR_ENUM_VALUE_INVALID, "PL_ERR_ENUM_VALUE_INVALID",
     "The value is not one of the parameter's enumerated values"},
    {PL_ERR_PARAM_NOT_ENUM, "PL_ERR_PARAM_NOT_ENUM", "The parameter is not an enumeration"},
    {PL_ERR_ENUM_INDEX_OUT_OF_RANGE, "PL_ERR_ENUM_INDEX_OUT_OF_RANGE",
     "The enumeration index is out of range"},
    {PL_ERR_BUFFER_TOO_SMALL, "PL_ERR_BUFFER_TOO_SMALL",
     "The string buffer is too small for the value"},
    {PL_ERR_REGION_INVALID, "PL_ERR_REGION_INVALID",
     "A region lies outside the sensor, is empty or overlaps another region"},
    {PL_ERR_BINNING_INVALID, "PL_ERR_BINNING_INVALID",
     "The binning is not supported or differs between regions"},
    {PL_ERR_TOO_MANY_REGIONS, "PL_ERR_TOO_MANY_REGIONS",
     "More regions were given than the camera supports"},
    {PL_ERR_METADATA_REQUIRED, "PL_ERR_METADATA_REQUIRED",
     "Several regions and centroids require frame metadata to be enabled"},
    {PL_ERR_CENTROIDS_CONFLICT, "PL_ERR_CENTROIDS_CONFLICT",
     "Centroids need exactly one region, no binning, and patches that fit inside the region"},
    {PL_ERR_EXPOSURE_MODE_INVALID, "PL_ERR_EXPOSURE_MODE_INVALID",
     "The exposure mode is not supported by this camera"},
    {PL_ERR_EXPOSURE_TIME_OUT_OF_RANGE, "PL_ERR_EXPOSURE_TIME_OUT_OF_RANGE",
     "The exposure time is outside the camera's range"},
    {PL_ERR_ACQUISITION_SETUP_REQUIRED, "PL_ERR_ACQUISITION_SETUP_REQUIRED",
     "The acquisition must be set up again before it can start"},
    {PL_ERR_ACQUISITION_IN_PROGRESS, "PL_ERR_ACQUISITION_IN_PROGRESS",
     "The request is not allowed while an acquisition is running"},
    {PL_ERR_ACQUISITION_NOT_RUNNING, "PL_ERR_ACQUISITION_NOT_RUNNING",
     "No acquisition of the required kind is running"},
    {PL_ERR_SEQUENCE_TOO_LARGE, "PL_ERR_SEQUENCE_TOO_LARGE",
     "The sequence does not fit in a 4 GiB buffer"},
    {PL_ERR_BUFFER_SIZE_INVALID, "PL_ERR_BUFFER_SIZE_INVALID",
     "The buffer size is not a non-zero whole multiple of the frame size"},
    {PL_ERR_NO_FRAME_AVAILABLE, "PL_ERR_NO_FRAME_AVAILABLE", "No frame is available yet"},
    {PL_ERR_BUFFER_OVERRUN, "PL_ERR_BUFFER_OVERRUN",
     "The circular buffer overran and frames were overwritten before they were released"},
    {PL_ERR_READOUT_FAILED, "PL_ERR_READOUT_FAILED", "The acquisition failed during readout"},
    {PL_ERR_CALLBACK_EVENT_INVALID, "PL_ERR_CALLBACK_EVENT_INVALID",
     "The callback event is not supported"},
    {PL_ERR_NOT_SOFTWARE_TRIGGERED, "PL_ERR_NOT_SOFTWARE_TRIGGERED",
     "The running acquisition does not use a software trigger mode"},
    {PL_ERR_NOT_HARDWARE_TRIGGERED, "PL_ERR_NOT_HARDWARE_TRIGGERED",
     "The running acquisition does not use an external trigger mode"},
};

static const error_entry *find_error(int16 code) {
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if ((int16)errors[i].code == code) return &errors[i];
    return NULL;
}

rs_bool pvsim_fail(pvsim_error code) {
    last_error = (int16)code;
    return PV_FAIL;
}

void pvsim_clear_error(void) { last_error = PL_ERR_NONE; }

PVSIM_EXPORT int16 pl_error_code(void) { return last_error; }

PVSIM_EXPORT rs_bool pl_error_message(int16 err_code, char *msg) {
    if (msg == NULL) return pvsim_fail(PL_ERR_NULL_POINTER);
    const error_entry *e = find_error(err_code);
    if (e == NULL) {
        snprintf(msg, ERROR_MSG_LEN, "Unknown error");
        return PV_FAIL;
    }
    snprintf(msg, ERROR_MSG_LEN, "%s (%s)", e->text, e->name);
    return PV_OK;
}
