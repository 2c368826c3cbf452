"""JavaScript prelude of every view context: emit, the 2.x helpers and the batch drivers."""

PRELUDE = r"""
var __rows = null;
var __doc = 0;
var __view = 0;
var __emits = 0;
var __maps = [];
var __reduces = {};
var __progress = null;

function emit(key, value) {
  __rows.push([__doc, __view, __emits++, key === undefined ? null : key,
               value === undefined ? null : value]);
}

function sum(values) {
  var total = 0;
  for (var i = 0; i < values.length; i++) total += values[i];
  return total;
}

function dateToArray(date) {
  var d = new Date(date);
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(),
          d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
}

function decodeBase64(text) {
  var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  var out = "", bits = 0, count = 0;
  for (var i = 0; i < text.length; i++) {
    var index = alphabet.indexOf(text.charAt(i));
    if (index < 0) continue;
    bits = (bits << 6) | index;
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += String.fromCharCode((bits >> count) & 0xff);
    }
  }
  return out;
}

function __fatal(e) {
  return e instanceof InternalError;
}

function __hex8(number) {
  if (number === 0) return "00000000";
  var text = (number >>> 0).toString(16);
  return "00000000".slice(text.length) + text;
}

function __mapBatch(base, texts, columnsJson, casHex, kinds) {
  var docs = texts.split("\x1e");
  var columns = JSON.parse(columnsJson);
  var ids = columns[0], seqnos = columns[1], expirations = columns[2], flags = columns[3];
  var rows = __rows = [], errors = [], notJson = [];
  __progress = [base, rows, errors, notJson];
  for (var i = 0; i < docs.length; i++) {
    var position = base + i, isJson = kinds.charCodeAt(i) === 106, doc = docs[i];
    __progress[0] = position;
    if (isJson) {
      try { doc = JSON.parse(doc); } catch (e) { notJson.push(position); continue; }
    }
    var meta = {id: ids[i],
                rev: seqnos[i] + "-" + casHex.substr(16 * i, 16) + __hex8(expirations[i]) +
                     __hex8(flags[i]),
                flags: flags[i], expiration: expirations[i], type: isJson ? "json" : "base64"};
    __doc = position;
    for (var v = 0; v < __maps.length; v++) {
      var mark = rows.length;
      __view = v;
      __emits = 0;
      try {
        __maps[v](doc, meta);
      } catch (e) {
        if (__fatal(e)) throw e;
        rows.length = mark;
        errors.push([position, v, String(e)]);
      }
    }
  }
  __progress[0] = base + docs.length;
  var out = JSON.stringify([rows, errors, notJson]);
  __rows = null;
  __progress = null;
  return out;
}

function __reduce(view, keysJson, valuesJson, rereduce) {
  var result = __reduces[view](JSON.parse(keysJson), JSON.parse(valuesJson), rereduce);
  return JSON.stringify([result === undefined ? null : result]);
}
"""
