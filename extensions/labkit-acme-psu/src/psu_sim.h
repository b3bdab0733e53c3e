/* The simulated ACME PS-series bench supply: the device the example plugin drives.
 *
 * What it models, after the manuals of common single-output bench supplies:
 *   - constant-voltage / constant-current crossover into a resistive load (or an open output);
 *   - set-points quantized to the front panel's resolution (1 mV, 0.1 mA);
 *   - the readback ADC: 1 mV / 0.1 mA resolution, noise that averaging reduces;
 *   - 40 mOhm of test leads: with local sensing the load sees less than the set-point, with
 *     remote (4-wire) sensing the supply regulates at the load;
 *   - over-voltage protection that trips, turns the output off and latches until cleared;
 *   - state that lives in the supply, not in the host: closing and reopening the resource
 *     finds the output as it was left.
 * Nothing here knows about labkit; acme_psu.c puts it behind labkit's C ABI.
 */
#ifndef ACME_PSU_SIM_H
#define ACME_PSU_SIM_H

#include <stdint.h>

typedef struct psu_model {
    const char *name;  /* "PS-3005" */
    double v_max;      /* V */
    double i_max;      /* A */
    double ovp_max;    /* V */
} psu_model;

typedef enum psu_mode { PSU_OFF = 0, PSU_CV = 1, PSU_CC = 2 } psu_mode;

typedef struct psu_state {
    const psu_model *model;
    int output;           /* relay closed */
    double voltage;       /* set-point, V */
    double current_limit; /* A */
    double ovp_level;     /* V */
    int remote_sense;     /* 0: local, 1: remote */
    int64_t averages;     /* readings averaged per measurement, 1..100 */
    int tripped;          /* over-voltage protection latched */
    double tripped_at;    /* terminal voltage when it tripped, V */
    double load_ohms;     /* <= 0: open output */
    uint64_t noise;       /* the ADC noise generator's state */
} psu_state;

/* The models the plugin knows, NULL-terminated; psu_find_model(NULL) is the default. */
extern const psu_model *const psu_models[];
const psu_model *psu_find_model(const char *name);

/* Power-on state: output off, 0 V, full current limit, OVP at its maximum. */
void psu_reset(psu_state *psu, const psu_model *model, double load_ohms, uint64_t seed);

/* Round a set-point to what the front panel can hold (1 mV, 0.1 mA). */
double psu_quantize_voltage(double volts);
double psu_quantize_current(double amps);

/* Re-evaluate the protection after any change; returns 1 if it tripped just now. */
int psu_check_protection(psu_state *psu);

/* The regulation point right now (no noise): voltage at the terminals, at the load, current. */
psu_mode psu_operating_point(const psu_state *psu, double *terminal_v, double *load_v,
                             double *current);

/* What the readback ADC reports (noisy, averaged, quantized): voltage at the sense point. */
double psu_measure_voltage(psu_state *psu);
double psu_measure_current(psu_state *psu);

#endif
