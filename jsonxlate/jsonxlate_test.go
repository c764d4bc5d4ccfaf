package jsonxlate

import "testing"

func TestErrorText(t *testing.T) {
	tests := []struct{ json, want string }{
		{`{"kind":"message","payload":[{"name":"a","attrs":{"b c":"x"}}]}`,
			`jsonxlate: bad-value at payload[0].attrs["b c"]: "b c" is not an attribute name`},
		{`{"kind":"message","body":"b","payload":["a","b"],"order":["payload[1]","body"]}`,
			`jsonxlate: bad-value at order: does not name payload[0]`},
		{`{"kind":"message","body":"b","order":["bodies"]}`,
			`jsonxlate: bad-value at order[0]: "bodies" needs an index, as in bodies[0]`},
		{`{"kind":"message","body":"b","order":["body[0]"]}`,
			`jsonxlate: bad-value at order[0]: "body[0]": body is not an array`},
		{`{"kind":"message","payload":["a"],"order":["payload[3]"]}`,
			`jsonxlate: bad-value at order[0]: "payload[3]" names no entry: payload has 1 entry`},
	}
	for _, tt := range tests {
		_, err := AppendXML(nil, []byte(tt.json))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.json, err, tt.want)
		}
	}
}
