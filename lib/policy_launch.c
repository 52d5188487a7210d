/* SPDX-License-Identifier: Apache-2.0 */
/* The policy's "launch" section (see policy_launch.h). */
#include "policy_launch.h"

#include <string.h>

#include "jsonx.h"

static const struct { const char *name; unsigned bit; } optins[] = {
	{"restore", LAUNCH_ALLOW_RESTORE},
	{"hostdev", LAUNCH_ALLOW_HOSTDEV},
	{"redirdev", LAUNCH_ALLOW_REDIRDEV},
	{"smartcard_database", LAUNCH_ALLOW_SMARTCARD_DB},
	{"shmem", LAUNCH_ALLOW_SHMEM},
	{"tpm_passthrough", LAUNCH_ALLOW_TPM_PASSTHROUGH},
	{"filesystem", LAUNCH_ALLOW_FILESYSTEM},
	{"nvdimm", LAUNCH_ALLOW_NVDIMM},
	{"fwcfg", LAUNCH_ALLOW_FWCFG},
	{"option_rom", LAUNCH_ALLOW_OPTION_ROM},
	{"host_chardev", LAUNCH_ALLOW_HOST_CHARDEV},
	{"host_interface", LAUNCH_ALLOW_HOST_INTERFACE},
	{"seclabel", LAUNCH_ALLOW_SECLABEL},
	{"network_boot", LAUNCH_ALLOW_NETWORK_BOOT},
	{"smbios", LAUNCH_ALLOW_SMBIOS},
	{"migrate", LAUNCH_ALLOW_MIGRATE},
	{"open_console", LAUNCH_ALLOW_OPEN_CONSOLE},
};

const char *launch_optin_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof(optins) / sizeof(optins[0]); i++)
		if (optins[i].bit == bit)
			return optins[i].name;
	return "?";
}

static int abs_path(json_t *v, char *out, const char *where, const char *object, struct vs_error *err)
{
	if (!json_is_string(v) || json_string_value(v)[0] != '/' ||
	    json_string_length(v) >= VS_MAX_PATH_BYTES || strlen(json_string_value(v)) != json_string_length(v))
		return vs_fail(err, VS_ERR_INPUT, object, "%s must be an absolute path", where);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int policy_launch_parse(json_t *o, struct policy_launch *l, const char *object, struct vs_error *err)
{
	static const char *const fields[] = {"emulators", "allow", "log_dir", "require_rng", NULL};
	json_t *v, *e;
	const char *k;
	size_t i;

	memset(l, 0, sizeof(*l));
	if (!o)
		return 0;
	if (!json_is_object(o))
		return vs_fail(err, VS_ERR_INPUT, object, "launch is not an object");
	if (json_check_fields(o, fields, "launch", object, err) < 0)
		return -1;
	v = json_object_get(o, "emulators");
	if (v) {
		if (!json_is_array(v) || json_array_size(v) == 0 ||
		    json_array_size(v) > POLICY_LAUNCH_MAX_EMULATORS)
			return vs_fail(err, VS_ERR_INPUT, object,
				       "launch.emulators must be an array of 1 to %d paths",
				       POLICY_LAUNCH_MAX_EMULATORS);
		json_array_foreach(v, i, e) {
			char where[48];

			snprintf(where, sizeof(where), "launch.emulators[%zu]", i);
			if (abs_path(e, l->emulators[i], where, object, err) < 0)
				return -1;
			l->nemulators = i + 1;
		}
	}
	v = json_object_get(o, "allow");
	if (v) {
		if (!json_is_object(v))
			return vs_fail(err, VS_ERR_INPUT, object, "launch.allow is not an object");
		json_object_foreach(v, k, e) {
			size_t j;

			for (j = 0; j < sizeof(optins) / sizeof(optins[0]) && strcmp(optins[j].name, k); j++)
				;
			if (j == sizeof(optins) / sizeof(optins[0]))
				return vs_fail(err, VS_ERR_INPUT, object, "launch.allow: unknown field \"%.64s\"", k);
			if (!json_is_boolean(e))
				return vs_fail(err, VS_ERR_INPUT, object, "launch.allow.%s must be true or false", k);
			if (json_is_true(e))
				l->allow |= optins[j].bit;
		}
	}
	v = json_object_get(o, "log_dir");
	if (v && abs_path(v, l->log_dir, "launch.log_dir", object, err) < 0)
		return -1;
	v = json_object_get(o, "require_rng");
	if (v) {
		if (!json_is_boolean(v))
			return vs_fail(err, VS_ERR_INPUT, object, "launch.require_rng must be true or false");
		l->require_rng = json_is_true(v);
	}
	return 0;
}
