#!/usr/bin/env node
'use strict';
require('../dist/apps/control-plane/src/cli.js');
