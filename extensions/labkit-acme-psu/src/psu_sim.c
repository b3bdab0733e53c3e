/* The simulated ACME PS-series bench supply (see psu_sim.h). */
#include "psu_sim.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define LEAD_OHMS 0.04         /* both test leads together */
#define V_RESOLUTION 1e-3      /* set-point and readback, V */
#define I_RESOLUTION 1e-4      /* set-point and readback, A */
#define V_NOISE 2e-3           /* ADC noise of one reading, V rms */
#define I_NOISE 2e-4           /* A rms */

static const psu_model ps3005 = {"PS-3005", 30.0, 5.0, 33.0};
static const psu_model ps6010 = {"PS-6010", 60.0, 10.0, 66.0};

const psu_model *const psu_models[] = {&ps3005, &ps6010, NULL};

const psu_model *psu_find_model(const char *name)
{
    if (name == NULL) {
        return &ps3005;
    }
    for (size_t i = 0; psu_models[i] != NULL; i++) {
        if (strcmp(psu_models[i]->name, name) == 0) {
            return psu_models[i];
        }
    }
    return NULL;
}

void psu_reset(psu_state *psu, const psu_model *model, double load_ohms, uint64_t seed)
{
    memset(psu, 0, sizeof *psu);
    psu->model = model;
    psu->current_limit = model->i_max;
    psu->ovp_level = model->ovp_max;
    psu->averages = 1;
    psu->load_ohms = load_ohms;
    psu->noise = seed ? seed : 0x9E3779B97F4A7C15ull;
}

/* "+ 0.0" turns a rounded -0.0 into 0.0: a front panel never shows -0.000 V. */
double psu_quantize_voltage(double volts) { return round(volts / V_RESOLUTION) * V_RESOLUTION + 0.0; }

double psu_quantize_current(double amps) { return round(amps / I_RESOLUTION) * I_RESOLUTION + 0.0; }

psu_mode psu_operating_point(const psu_state *psu, double *terminal_v, double *load_v,
                             double *current)
{
    double v = 0.0, vl = 0.0, i = 0.0;
    psu_mode mode = PSU_OFF;
    if (psu->output) {
        if (psu->load_ohms <= 0.0) { /* open output: regulates at the set-point, no current */
            v = vl = psu->voltage;
            mode = PSU_CV;
        } else {
            double r = psu->load_ohms;
            /* Constant voltage: the regulated point is the terminals (local sense) or the
             * load (remote sense). */
            i = psu->remote_sense ? psu->voltage / r : psu->voltage / (r + LEAD_OHMS);
            mode = PSU_CV;
            if (i > psu->current_limit) {
                i = psu->current_limit;
                mode = PSU_CC;
            }
            vl = i * r;
            v = vl + i * LEAD_OHMS;
        }
    }
    if (terminal_v) *terminal_v = v;
    if (load_v) *load_v = vl;
    if (current) *current = i;
    return mode;
}

int psu_check_protection(psu_state *psu)
{
    double terminal;
    if (!psu->output || psu->tripped) {
        return 0;
    }
    psu_operating_point(psu, &terminal, NULL, NULL);
    if (terminal > psu->ovp_level) {
        psu->tripped = 1;
        psu->tripped_at = terminal;
        psu->output = 0;
        return 1;
    }
    return 0;
}

/* xorshift64*: a small, repeatable generator; two uniforms make one Gaussian (Box-Muller). */
static double uniform(psu_state *psu)
{
    uint64_t x = psu->noise;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    psu->noise = x;
    return ((x * 0x2545F4914F6CDD1Dull) >> 11) * (1.0 / 9007199254740992.0);
}

static double gaussian(psu_state *psu)
{
    double u1 = uniform(psu), u2 = uniform(psu);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static double averaged_noise(psu_state *psu, double rms)
{
    return rms * gaussian(psu) / sqrt((double)psu->averages);
}

double psu_measure_voltage(psu_state *psu)
{
    double terminal, load;
    psu_operating_point(psu, &terminal, &load, NULL);
    double sensed = psu->remote_sense ? load : terminal;
    double value = sensed + averaged_noise(psu, V_NOISE);
    if (!psu->output) value = averaged_noise(psu, V_NOISE) * 0.1; /* a few hundred uV of offset */
    return psu_quantize_voltage(value);
}

double psu_measure_current(psu_state *psu)
{
    double current;
    psu_operating_point(psu, NULL, NULL, &current);
    double value = current + averaged_noise(psu, I_NOISE);
    if (!psu->output) value = averaged_noise(psu, I_NOISE) * 0.1;
    return psu_quantize_current(value);
}
