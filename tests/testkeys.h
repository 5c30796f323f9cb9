/*
 * testkeys.h: fixed private keys shared by the JWE unit tests and the JWE
 * fuzz target (the unit tests' jwcrypto vectors were made for them, and
 * the fuzz seeds are JWEs encrypted to them). Test material only.
 */
#ifndef TRUSTEE_TESTKEYS_H
#define TRUSTEE_TESTKEYS_H

/* EC P-256, PKCS#8 PEM. */
static const char TESTKEY_P256_PEM[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgkM3KsCE8oZhr06m2\n"
	"6v10xlAudVyR/5LksYjBh5YGcJihRANCAATo8LP3UAuLcV22k2/7NngUsRItSk3Q\n"
	"2Zb5A1WBhnqaDxRGIGlW9y07kQkXq8JF6rMdIe9e/msAte0XuTs+HsPy\n"
	"-----END PRIVATE KEY-----\n";

/* RSA-2048, PKCS#8 PEM. */
static const char TESTKEY_RSA2048_PEM[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCmxuPyOYnC8gcN\n"
	"fe2BjWDAtbSDd5HngtSGJZU9awQDCLy+fDu9JOqVpk07yyGI+Qvtc6OMI3J+/U1a\n"
	"3uOom2CPKoWV8a0Lmh+3E0k2Kg4Ue6J8nta8JV0XMshh6T96pDcP12wNTBVK7yZ6\n"
	"SP4J/ajs/sTmBwp4CHSCRPeAWKadyzj4Q/8q+ue0VvNyt77eWZCqJigPbvKlJjCk\n"
	"1Ixypm5CJWBc25fYV6QKWWzzFdQ9klZzbA4oYwgFDSeotD0KNczmObHgCJc3S7AX\n"
	"N7uxUKgBzayz21X3Xq0mvfm3v0QJoC7PguIh1RMflBlYn3U+93EUAsIIucSEssrT\n"
	"s8RxN6opAgMBAAECggEAKvK7DszMcjx7nnjYae1rhhUE+HoZQ8JIUodpKFjfvpxI\n"
	"ZtF9XNcd5g3eg9BqwWhJLwwBiPwz5wn6GrWdcPUaZ6PupM+I3Z0CH9ZCm0U3PQUd\n"
	"sfQBnpAMqgW03qn/Y+jYGSdDtyTpstNlWEZlzVLaZrWxJP+ZLZIX1thF2HJ77dRW\n"
	"UiNYTxPtp3Begjewv1BSYPU4cRh0/HRGYn05iHJHfvrD4bFgb7aR7Kk/+zbV4Vvs\n"
	"B46uywgnes1H6tEnZhSxgfHWj1Wll58xVX4aQjLIeU+gEZhBE8Vnf86Am9egVnbc\n"
	"qLYId0RiOw6jUTf9JQWQJSdx1lWco+wBs1EU5iN2tQKBgQDTvsBfPopftHXIv2il\n"
	"AzIC09PCFG5F75gMBWMbKVkZr3jQr1C3Lx/QL+o5V0kMHw8cJfDnliOrTOokCDC5\n"
	"sk9Fl15yCzcXUIZokjsPVYeD5qG0SsuzmQgrIFFHZwmp7OLwXTEPw5jI0+ezc/z/\n"
	"gkogENqUjoHxiWMHxBqmZR+OSwKBgQDJoibsOvLRdJIvUWSQqAFJ1Q3FCYFdE1as\n"
	"jU60xrvdWBLrvoMf3flqFEzCWl2QdnaGl+MkHkjZlm+S/7XqOm0zjXtzwC+bRtI/\n"
	"yczZvQQABMgMmK98U0mzl8ExwaLGaxT2QCls1x27sGzSI2HhvLJVsERUpWGJwUBq\n"
	"xmH58VTQ2wKBgBAX3l0ezruJZq5URerMvF9UpDKLBPqRxDedrTOiR+BY4tDRkkvp\n"
	"6/wRuDaVeLrQHYDhLVccpSde2CjW6oUilT3PzGDUk2JVP3HxM0XuFTekLsQaLzM+\n"
	"PU2xzhukLCrbE0B7hMAS+KjC2khcV21ABMw9G6/QyPWHoJw1fmUJKIXTAoGAAqlK\n"
	"PDn29H7GYyt+2U3uXmwad2xNsc3MihB/ZnFtD1nXPhdQob4LSbQk4zfQHlUB8XrV\n"
	"u6dOrNiIdnc7jnDg+ho28+sodbM0mTTvqDwPbnShs1DcmBZ9VYp+OUrl/Bpzt2BX\n"
	"a6FXOh/0/70J0LHt5KWj8T4RkIDlecNOjb76sJsCgYAM0Mazf1FcsmSceN2Hy7qE\n"
	"1P/IJQJoWGwhMBpJ17jE18HtWF1pimzJQ6SUYViE1aOiU+nT+92T1qJcZgvd7Qoi\n"
	"Gy3GC+icq7fzmKHhhcQd0o2+43+DQu1gtxr3BaG9VpdN4uMFH3WXYtKUeJCGsFhF\n"
	"2528iL+CsLL+NQ/QKTyo2g==\n"
	"-----END PRIVATE KEY-----\n";

#endif
