#!/usr/bin/env node
'use strict';
require('../dist/apps/agent/src/cli.js');
