"""JavaScript prelude of every view context: emit, the 2.x helpers and the batch drivers."""

PRELUDE = r"""
var __emitted = null;
var __maps = [];
var __reduces = {};
var __progress = [];

function emit(key, value) {
  __emitted.push([key === undefined ? null : key, value === undefined ? null : value]);
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

function __mapBatch(batchJson) {
  var batch = JSON.parse(batchJson);
  var out = __progress = [];
  for (var i = 0; i < batch.length; i++) {
    var entry = batch[i], meta = entry[1], doc = entry[0];
    if (meta.type === "json") {
      try { doc = JSON.parse(doc); } catch (e) { out.push(0); continue; }
    }
    var perView = new Array(__maps.length);
    for (var v = 0; v < __maps.length; v++) {
      __emitted = [];
      try {
        __maps[v](doc, meta);
        perView[v] = __emitted;
      } catch (e) {
        if (__fatal(e)) throw e;
        perView[v] = String(e);
      }
    }
    out.push(perView);
  }
  __emitted = null;
  __progress = [];
  return JSON.stringify(out);
}

function __reduce(view, keysJson, valuesJson, rereduce) {
  var result = __reduces[view](JSON.parse(keysJson), JSON.parse(valuesJson), rereduce);
  return JSON.stringify([result === undefined ? null : result]);
}
"""
