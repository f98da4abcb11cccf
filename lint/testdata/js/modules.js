const crypto = require('crypto');
const fs = require('node:fs');
const _ = require('lodash');
const fp = require('lodash/fp');
const { google } = require('googleapis');
const moment = require('moment'); // want: unavailable-module
const helper = require('./helper'); // want: unavailable-module
const openai = require('@openai/api'); // want: unavailable-module

exports.main = async (event) => {
  const h = crypto.createHash('sha256').update(String(event.object.objectId)).digest('hex');
  return { outputFields: { h, n: _.size(fp), g: typeof google, m: typeof moment, x: typeof helper, o: typeof openai, f: typeof fs } };
};
