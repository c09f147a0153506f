// libFuzzer harness for the C policy runtime's loader (runtime/c): any bytes are either refused
// with a message or load, verify (checksum, shapes, self-test) and act on zero observations.
// Built and run by Scripts/fuzz.sh policy.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "switchgym_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sg_policy *p = NULL;
    char err[512];
    if (sg_policy_load_memory(data, size, &p, err, sizeof err) != 0) {
        if (err[0] == 0) abort();   // every refusal says why
        return 0;
    }
    size_t dim = sg_policy_observation_dimension(p), comps = sg_policy_action_components(p);
    float *obs = calloc(dim, sizeof(float));
    int32_t *action = calloc(comps, sizeof(int32_t));
    if (obs && action) (void)sg_policy_act(p, obs, NULL, action, err, sizeof err);
    free(obs);
    free(action);
    sg_policy_free(p);
    return 0;
}
