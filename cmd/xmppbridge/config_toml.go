package main

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// decoder fills a Config from a decoded TOML document one key at a time.
// toml.Decode straight into the struct would stop at the first value of the
// wrong type, hiding every later problem, and would match keys without
// regard to case, letting "Listen" pass for "listen"; and its Undecoded
// cannot see unknown keys under a table decoded as a map, such as
// [domain."example.com"]. Walking the struct by its toml tags names every
// unknown key and every wrong type at once.
type decoder struct {
	order    map[string]int // key → position in the file, to report problems in reading order
	problems []ConfigProblem
	failed   map[string]bool // keys with a problem here, so validation says nothing more about them
}

func (d *decoder) bad(key toml.Key, format string, args ...any) {
	k := key.String()
	d.problems = append(d.problems, ConfigProblem{Key: k, Msg: fmt.Sprintf(format, args...)})
	if d.failed == nil {
		d.failed = make(map[string]bool)
	}
	d.failed[k] = true
}

// keys returns the keys of tbl, which sits at key, in the order they
// appear in the file.
func (d *decoder) keys(key toml.Key, tbl map[string]any) []string {
	names := make([]string, 0, len(tbl))
	for name := range tbl {
		names = append(names, name)
	}
	pos := func(name string) int {
		if i, ok := d.order[append(key[:len(key):len(key)], name).String()]; ok {
			return i
		}
		return len(d.order)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := pos(a) - pos(b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return names
}

// table fills the struct dst from tbl, the table at key.
func (d *decoder) table(key toml.Key, tbl map[string]any, dst reflect.Value) {
	for _, name := range d.keys(key, tbl) {
		k := append(key[:len(key):len(key)], name)
		field, ok := fieldByTag(dst.Type(), name)
		if !ok {
			d.bad(k, "unknown key (known here: %s)", strings.Join(tags(dst.Type()), ", "))
			continue
		}
		d.value(k, tbl[name], dst.FieldByIndex(field.Index))
	}
}

var (
	durationType        = reflect.TypeFor[Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// value sets dst from v, the TOML value at key.
func (d *decoder) value(key toml.Key, v any, dst reflect.Value) {
	t := dst.Type()
	wrong := func() { d.bad(key, "must be %s, not %s", describeGo(t), describeTOML(v)) }

	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		s, ok := v.(string)
		if !ok {
			wrong()
			return
		}
		if err := dst.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.bad(key, "%v", err)
			return
		}
		if t == durationType && dst.Interface().(Duration).Duration == 0 {
			d.bad(key, "must be greater than zero (leave it out for the default)")
		}
		return
	}

	switch t.Kind() {
	case reflect.Struct:
		tbl, ok := v.(map[string]any)
		if !ok {
			wrong()
			return
		}
		d.table(key, tbl, dst)

	case reflect.Map: // of tables, keyed by name
		tbl, ok := v.(map[string]any)
		if !ok {
			wrong()
			return
		}
		m := reflect.MakeMapWithSize(t, len(tbl))
		for _, name := range d.keys(key, tbl) {
			elem := reflect.New(t.Elem()).Elem()
			d.value(append(key[:len(key):len(key)], name), tbl[name], elem)
			m.SetMapIndex(reflect.ValueOf(name), elem)
		}
		dst.Set(m)

	case reflect.Pointer:
		elem := reflect.New(t.Elem())
		before := len(d.problems)
		d.value(key, v, elem.Elem())
		if len(d.problems) == before {
			dst.Set(elem)
		}

	case reflect.String:
		s, ok := v.(string)
		if !ok {
			wrong()
			return
		}
		dst.SetString(s)

	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			wrong()
			return
		}
		dst.SetBool(b)

	case reflect.Int:
		n, ok := v.(int64)
		if !ok {
			wrong()
			return
		}
		if dst.OverflowInt(n) {
			d.bad(key, "%d is too large", n)
			return
		}
		if n == 0 {
			d.bad(key, "must be greater than zero (leave it out for the default)")
			return
		}
		dst.SetInt(n)

	case reflect.Slice: // of strings
		list, ok := v.([]any)
		if !ok {
			wrong()
			return
		}
		if len(list) == 0 {
			return // the same as leaving the key out
		}
		s := reflect.MakeSlice(t, len(list), len(list))
		for i, e := range list {
			str, ok := e.(string)
			if !ok {
				wrong()
				return
			}
			s.Index(i).SetString(str)
		}
		dst.Set(s)

	default:
		panic("config: no decoding for " + t.String())
	}
}

// tomlKey is the key that sets field f, or "" if none does.
func tomlKey(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if !f.IsExported() || tag == "-" {
		return ""
	}
	return tag
}

// fieldByTag finds the field of struct type t whose key is name, exactly.
func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if f := t.Field(i); tomlKey(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// tags lists the keys a table decoded into struct type t may hold.
func tags(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if k := tomlKey(t.Field(i)); k != "" {
			names = append(names, k)
		}
	}
	return names
}

// describeGo says what a field of type t expects, for messages.
func describeGo(t reflect.Type) string {
	if t == durationType {
		return `a duration string such as "30s"`
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a table"
	case reflect.Pointer:
		return describeGo(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "an integer"
	case reflect.Slice:
		return "an array of strings"
	}
	return t.String()
}

// describeTOML says what kind of TOML value v is, for messages.
func describeTOML(v any) string {
	switch v := v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date-time"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case []any:
		for _, e := range v {
			if _, ok := e.(string); !ok {
				return "an array holding " + describeTOML(e)
			}
		}
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}
