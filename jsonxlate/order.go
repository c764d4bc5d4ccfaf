package jsonxlate

import (
	"strconv"
	"strings"
)

// This file is the "order" member of a stanza (docs/json.md, Order), both
// ways: it names the stanza's children in document order when that is not
// the fixed order, friendly fields in the order of their table and then
// payload.

// order writes the "order" member of the stanza at idx, of the given
// kind: each child's place in the JSON object, in document order.
func (c *toJSON) order(dst []byte, kind *stanzaKind, idx int32) []byte {
	t := &c.t
	var listed [maxFields]int // entries so far of each list field
	j := 0                    // payload entries so far
	dst = append(dst, `,"order":[`...)
	first := true
	for ch := t.nodes[idx].first; ch >= 0; ch = t.nodes[ch].next {
		i := c.cls[ch]
		if i == clsSpace {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		switch {
		case i == clsPayload:
			dst = append(dst, "payload["...)
			dst = strconv.AppendInt(dst, int64(j), 10)
			dst = append(dst, ']')
			j++
		case kind.fields[i].list:
			dst = append(dst, kind.fields[i].name...)
			dst = append(dst, '[')
			dst = strconv.AppendInt(dst, int64(listed[i]), 10)
			dst = append(dst, ']')
			listed[i]++
		default:
			dst = append(dst, kind.fields[i].name...)
		}
		dst = append(dst, '"')
	}
	return append(dst, ']')
}

// ordered writes the children of a stanza of the given kind in the order
// of its "order" member: the children in document order, each named by
// where the object keeps it ("body", "bodies[0]", "payload[2]"). It must
// name every child the object stands for exactly once, and nothing else. A
// child is written as soon as it is named; if "order" turns out wrong,
// AppendXML throws away what was written.
func (w *xmlWriter) ordered(f *stanzaMembers, kind *stanzaKind, p *path) *Error {
	fields := kind.fields
	op := field(p, "order")
	if err := w.want(f.order, op, jArr); err != nil {
		return err
	}
	// The entries of the list fields and of payload (index len(fields))
	// are in one slice: those of index i in all[start[i]:start[i+1]]. An
	// entry is marked named by complementing it.
	payload := len(fields)
	arrays := func(fn func(i int, v int32)) {
		for i, v := range f.child[:len(fields)] {
			if v >= 0 && fields[i].list {
				fn(i, v)
			}
		}
		if f.payload >= 0 {
			fn(payload, f.payload)
		}
	}
	var start [maxFields + 2]int
	var err *Error
	arrays(func(i int, v int32) {
		if err == nil {
			err = w.want(v, arrayPath(p, kind, i), jArr)
		}
		for e := w.n[v].first; e >= 0; e = w.n[e].next {
			start[i+1]++
		}
	})
	if err != nil {
		return err
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	all := make([]int32, start[len(start)-1])
	arrays(func(i int, v int32) {
		j := start[i]
		for e := w.n[v].first; e >= 0; e = w.n[e].next {
			all[j] = e
			j++
		}
	})

	var named uint32 // bit i: the field fields[i] is named
	n := 0
	for c := w.n[f.order].first; c >= 0; c, n = w.n[c].next, n+1 {
		ep := index(op, n)
		if err := w.want(c, ep, jStr); err != nil {
			return err
		}
		s := w.n[c].str
		key, j, indexed := splitIndex(s)
		i := kind.fieldIndex(key)
		if key == "payload" {
			i = payload
		}
		switch {
		case i < 0:
			return errAt(CodeBadValue, ep, strconv.Quote(s)+" does not name a child")
		case indexed != (i == payload || fields[i].list):
			if indexed {
				return errAt(CodeBadValue, ep, strconv.Quote(s)+": "+key+" is not an array")
			}
			return errAt(CodeBadValue, ep, strconv.Quote(s)+" needs an index, as in "+key+"[0]")
		}
		if !indexed {
			fl := &fields[i]
			v := f.child[i]
			if !w.writesChild(fl, v) {
				return errAt(CodeBadValue, ep, strconv.Quote(s)+" names no child: the field is absent")
			}
			if named&(1<<i) != 0 {
				return errAt(CodeBadValue, ep, strconv.Quote(s)+" is named twice")
			}
			named |= 1 << i
			if err := fl.toXML(w, v, f.with[i], p); err != nil {
				return err
			}
			continue
		}
		count := start[i+1] - start[i]
		if j >= count {
			return errAt(CodeBadValue, ep, strconv.Quote(s)+" names no entry: "+key+" has "+entries(count))
		}
		v := all[start[i]+j]
		if v < 0 {
			return errAt(CodeBadValue, ep, strconv.Quote(s)+" is named twice")
		}
		all[start[i]+j] = ^v
		ip := index(field(p, key), j)
		if i == payload {
			err = w.child(v, ip, nsClient, nsClient)
		} else {
			err = w.langEntry(v, ip, &fields[i])
		}
		if err != nil {
			return err
		}
	}

	for i, v := range f.child[:len(fields)] {
		if !fields[i].list && w.writesChild(&fields[i], v) && named&(1<<i) == 0 {
			return errAt(CodeBadValue, op, "does not name "+fields[i].name)
		}
	}
	for i := 0; i < len(start)-1; i++ {
		for j := start[i]; j < start[i+1]; j++ {
			if all[j] >= 0 {
				return errAt(CodeBadValue, op, "does not name "+arrayPath(nil, kind, i).String()+"["+strconv.Itoa(j-start[i])+"]")
			}
		}
	}
	return nil
}

// arrayPath is the path of the list field of index i of kind, or of
// payload for index len(kind.fields).
func arrayPath(p *path, kind *stanzaKind, i int) *path {
	if i == len(kind.fields) {
		return field(p, "payload")
	}
	return field(p, kind.fields[i].name)
}

// entries says how many entries an array has, for errors.
func entries(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return strconv.Itoa(n) + " entries"
}

// splitIndex splits "key[i]" into key and i; indexed is false for a plain
// key. An index is written as JSON writes a non-negative integer ("0",
// "12", not "012" or "+1"); anything else is returned whole as the key, to
// name nothing.
func splitIndex(s string) (key string, i int, indexed bool) {
	open := strings.IndexByte(s, '[')
	if open < 0 || s[len(s)-1] != ']' {
		return s, 0, false
	}
	digits := s[open+1 : len(s)-1]
	if len(digits) == 0 || len(digits) > 9 || len(digits) > 1 && digits[0] == '0' {
		return s, 0, false
	}
	for j := 0; j < len(digits); j++ {
		if digits[j] < '0' || digits[j] > '9' {
			return s, 0, false
		}
		i = i*10 + int(digits[j]-'0')
	}
	return s[:open], i, true
}
