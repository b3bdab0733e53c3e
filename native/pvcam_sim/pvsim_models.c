/* The two simulated cameras.
 *
 * pvsim-kinetix: a 3200 x 3200 Kinetix-like sCMOS. Each readout mode is its own port, with the
 * line times that give the rates of reference §4.2 (rows x line time, rolling readout):
 * Speed 8-bit 2.000 ms (500 fps, MONO8), Sensitivity 12-bit 11.30 ms (88.5 fps),
 * Dynamic Range 16-bit 12.00 ms (83.3 fps), Sub-Electron 16-bit 192.3 ms (5.2 fps).
 *
 * pvsim-primebsi: a 2048 x 2048 Prime-BSI-like sCMOS with one port and two speeds,
 * "200 MHz" (11-bit, three gains) and "100 MHz" (16-bit HDR). Its line times are the simulator's
 * own choice (the reference has no confirmed Prime BSI rates).
 *
 * Conversion gains, read noise and bias levels are plausible values, not vendor figures.
 */
#include "pvsim.h"

static const enum_item kinetix_exposure_modes[] = {
    {EXT_TRIG_INTERNAL, "Internal Trigger"},
    {EXT_TRIG_TRIG_FIRST, "Trigger First"},
    {EXT_TRIG_EDGE_RISING, "Edge Trigger"},
    {EXT_TRIG_LEVEL, "Level Trigger"},
    {EXT_TRIG_SOFTWARE_FIRST, "Software Trigger First"},
    {EXT_TRIG_SOFTWARE_EDGE, "Software Trigger Edge"},
    {EXT_TRIG_LEVEL_OVERLAP, "Level Trigger Overlap"},
};

static const enum_item primebsi_exposure_modes[] = {
    {EXT_TRIG_INTERNAL, "Internal Trigger"},
    {EXT_TRIG_TRIG_FIRST, "Trigger First"},
    {EXT_TRIG_EDGE_RISING, "Edge Trigger"},
    {EXT_TRIG_SOFTWARE_FIRST, "Software Trigger First"},
    {EXT_TRIG_SOFTWARE_EDGE, "Software Trigger Edge"},
};

static const enum_item kinetix_expose_out[] = {
    {EXPOSE_OUT_FIRST_ROW, "First Row"},
    {EXPOSE_OUT_ALL_ROWS, "All Rows"},
    {EXPOSE_OUT_ANY_ROW, "Any Row"},
    {EXPOSE_OUT_ROLLING_SHUTTER, "Rolling Shutter"},
    {EXPOSE_OUT_LINE_TRIGGER, "Line Trigger"},
};

static const enum_item primebsi_expose_out[] = {
    {EXPOSE_OUT_FIRST_ROW, "First Row"},
    {EXPOSE_OUT_ALL_ROWS, "All Rows"},
    {EXPOSE_OUT_ANY_ROW, "Any Row"},
    {EXPOSE_OUT_ROLLING_SHUTTER, "Rolling Shutter"},
};

static const enum_item kinetix_clear_modes[] = {
    {0, "Auto"},
    {2, "Pre-Sequence"},
};

static const enum_item primebsi_clear_modes[] = {
    {0, "Auto"},
    {1, "Pre-Exposure"},
    {2, "Pre-Sequence"},
};

static const enum_item kinetix_exp_res[] = {
    {EXP_RES_ONE_MILLISEC, "One Millisecond"},
    {EXP_RES_ONE_MICROSEC, "One Microsecond"},
};

static const enum_item primebsi_exp_res[] = {
    {EXP_RES_ONE_MILLISEC, "One Millisecond"},
    {EXP_RES_ONE_MICROSEC, "One Microsecond"},
    {EXP_RES_ONE_SEC, "One Second"},
};

static const enum_item binnings[] = {
    {1, "1x1"},
    {2, "2x2"},
    {4, "4x4"},
};

static const enum_item kinetix_formats[] = {
    {PL_IMAGE_FORMAT_MONO16, "Mono 16-bit"},
    {PL_IMAGE_FORMAT_MONO8, "Mono 8-bit"},
};

static const enum_item primebsi_formats[] = {
    {PL_IMAGE_FORMAT_MONO16, "Mono 16-bit"},
};

const enum_item pvsim_fan_speeds[4] = {
    {FAN_SPEED_HIGH, "High"},
    {FAN_SPEED_MEDIUM, "Medium"},
    {FAN_SPEED_LOW, "Low"},
    {FAN_SPEED_OFF, "Off"},
};

const enum_item pvsim_centroid_modes[3] = {
    {PL_CENTROIDS_MODE_LOCATE, "Locate"},
    {PL_CENTROIDS_MODE_TRACK, "Track"},
    {PL_CENTROIDS_MODE_BLOB, "Blob"},
};

const enum_item pvsim_summing_formats[3] = {
    {PL_FRAME_SUMMING_FORMAT_16_BIT, "16-bit"},
    {PL_FRAME_SUMMING_FORMAT_24_BIT, "24-bit"},
    {PL_FRAME_SUMMING_FORMAT_32_BIT, "32-bit"},
};

const enum_item pvsim_compressions[1] = {
    {PL_IMAGE_COMPRESSION_NONE, "None"},
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const camera_model kinetix = {
    .name = "pvsim-kinetix",
    .chip_name = "pvsim-KINETIX",
    .fw_version = 0x0105,
    .width = 3200,
    .height = 3200,
    .pixel_nm = 6500,
    .n_ports = 4,
    .ports = {
        {"Sensitivity", 1, {{"Sensitivity", 10, 11300000.0 / 3200, PL_IMAGE_FORMAT_MONO16, 1,
                             {{"Sensitivity", 12, 0.25, 1.0, 100}}}}},
        {"Speed", 1, {{"Speed", 5, 2000000.0 / 3200, PL_IMAGE_FORMAT_MONO8, 1,
                       {{"Speed", 8, 6.0, 2.0, 5}}}}},
        {"Dynamic Range", 1, {{"Dynamic Range", 10, 12000000.0 / 3200, PL_IMAGE_FORMAT_MONO16, 1,
                               {{"HDR", 16, 0.5, 1.6, 100}}}}},
        {"Sub-Electron", 1, {{"Sub-Electron", 160, 192300000.0 / 3200, PL_IMAGE_FORMAT_MONO16, 1,
                              {{"Sub-Electron", 16, 0.25, 0.7, 100}}}}},
    },
    .exposure_modes = kinetix_exposure_modes,
    .n_exposure_modes = N(kinetix_exposure_modes),
    .expose_out_modes = kinetix_expose_out,
    .n_expose_out_modes = N(kinetix_expose_out),
    .clear_modes = kinetix_clear_modes,
    .n_clear_modes = N(kinetix_clear_modes),
    .exp_res = kinetix_exp_res,
    .n_exp_res = N(kinetix_exp_res),
    .binnings = binnings,
    .n_binnings = N(binnings),
    .image_formats = kinetix_formats,
    .n_image_formats = N(kinetix_formats),
    .max_rois = 15,
    .max_centroids = 512,
    .max_centroid_radius = 15,
    .setpoint_default = 0,
    .setpoint_min = -1500,
    .setpoint_max = 2500,
    .dark_e_per_s_at_0c = 0.5,
};

static const camera_model primebsi = {
    .name = "pvsim-primebsi",
    .chip_name = "pvsim-GSENSE2020BSI",
    .fw_version = 0x0204,
    .width = 2048,
    .height = 2048,
    .pixel_nm = 6500,
    .n_ports = 1,
    .ports = {
        {"Normal", 2, {
            {"200 MHz", 5, 4880.0, PL_IMAGE_FORMAT_MONO16, 3,
             {{"Full Well", 11, 2.0, 1.8, 100},
              {"Balanced", 11, 1.0, 1.4, 100},
              {"Sensitivity", 11, 0.5, 1.1, 100}}},
            {"100 MHz", 10, 11200.0, PL_IMAGE_FORMAT_MONO16, 1,
             {{"HDR", 16, 0.7, 1.3, 100}}},
        }},
    },
    .exposure_modes = primebsi_exposure_modes,
    .n_exposure_modes = N(primebsi_exposure_modes),
    .expose_out_modes = primebsi_expose_out,
    .n_expose_out_modes = N(primebsi_expose_out),
    .clear_modes = primebsi_clear_modes,
    .n_clear_modes = N(primebsi_clear_modes),
    .exp_res = primebsi_exp_res,
    .n_exp_res = N(primebsi_exp_res),
    .binnings = binnings,
    .n_binnings = N(binnings),
    .image_formats = primebsi_formats,
    .n_image_formats = N(primebsi_formats),
    .max_rois = 15,
    .max_centroids = 512,
    .max_centroid_radius = 15,
    .setpoint_default = -2000,
    .setpoint_min = -2500,
    .setpoint_max = 2500,
    .dark_e_per_s_at_0c = 0.3,
};

const camera_model *const pvsim_models[PVSIM_N_CAMERAS] = {&kinetix, &primebsi};
