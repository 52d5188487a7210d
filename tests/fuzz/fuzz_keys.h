/* SPDX-License-Identifier: Apache-2.0 */
/* Fixed public keys for fuzz targets that verify signatures (generated once; the private halves
 * were used only to make the seed corpora and are not kept). */
#ifndef VMSEAL_FUZZ_KEYS_H
#define VMSEAL_FUZZ_KEYS_H

static const char fuzz_ed25519_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VwAyEAWFmYiWlgxLT7CMp8RsS9k+I6GeArbQvc8Ix9gZm4JB8=\n"
	"-----END PUBLIC KEY-----\n";

static const char fuzz_p256_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6fQIHHVkHeZZFYKv5UogbKZmN9rS\n"
	"yfHfZWFD82r91NdULAbwaG7cqKukWmaSG6xD0W2PWX1Sd1jhdISwe/U4nQ==\n"
	"-----END PUBLIC KEY-----\n";

static const char fuzz_rsa3072_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MIIBojANBgkqhkiG9w0BAQEFAAOCAY8AMIIBigKCAYEAl6u22+zCzadMPzdubaTv\n"
	"sLO5Nh1KGWU+ihUEU9D6a83vsKyV1PQXzmXlJL8Eo3QA7p2xAgZJx7hEzBiV18Er\n"
	"IgOEAl6Hzc66ONC2buROxCw+rto98EnnqbMLt8ZpFiMPsFnprGe43av/rdppyiWT\n"
	"2SzEMaQnWvBZqOQLgQpZOMRDAj2VCwsAGjrO11lyGWYjffTCtV9Xx+Gd3fFmorZP\n"
	"wjX3Vi4Ny2GPkizfFPvN+tT5t/wl5g5hGLpMwNbKslILUzAf1RYnoyQS8UiDJt3a\n"
	"G5rMlRHSt5ijmTJqAd5+vWVvXqqJRmm76BX1K2PEp0YpJO574MctFW+RKu5S6sd5\n"
	"ifSZib6Weuw0Vfq5JcOUO2Pl5VPxtH/ak9pE5Z3zUFR61gGdTcXbmkkco3iHiBi1\n"
	"2EiCVmTOmuMCRly4zQnLDu7Wm+XBbkTxl6EskLY9wfS4M9CxcKgtdzOaYE4L0SwU\n"
	"Xgrxd0KjMwWMkQtNw8Wmmj/1XfLnznMenN42lai0tag9AgMBAAE=\n"
	"-----END PUBLIC KEY-----\n";

#endif
